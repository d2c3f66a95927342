//! The low-stock index at each location (`GET /v1/alerts/low-stock?location=`): equal to a
//! full scan of every location's level after a rush of purchases and holds on both
//! strategies, transfers, restocks at locations, safety stock and threshold changes at once;
//! checked by `verify`; emptied when a SKU retires (the cluster's case is in `low_stock`).

use crate::helpers::{AppOptions, TestApp, spawn_app, spawn_app_with};
use crate::low_stock::{drift, holds_some_cancelled, put};
use reqwest::Method;
use serde_json::json;
use stockwatch::domain::Sku;
use stockwatch::ops::alerts;
use stockwatch::ops::level::Rules;

const SKUS: usize = 12;
const PLACES: [&str; 3] = ["default", "east", "west"];

fn sku(i: usize) -> String {
    format!("at-{i:02}")
}

/// What a full scan says is low at `location`, lowest first: `(sku, available, threshold)`.
async fn scanned(app: &TestApp, location: &str) -> Vec<(String, i64, i64)> {
    let mut low = Vec::new();
    for i in 0..SKUS {
        let (_, stock) = app.get(&format!("/v1/skus/{}", sku(i))).await;
        let (_, rules) = app.get(&format!("/v1/skus/{}/alerts", sku(i))).await;
        let Some(threshold) = rules["low_stock_threshold"].as_i64() else {
            continue;
        };
        // Without named locations a SKU's one location, `default`, is its totals.
        let places = stock["locations"].as_array().cloned().unwrap_or_else(|| {
            vec![json!({"location": "default", "available": stock["available"], "safety_stock": stock["safety_stock"]})]
        });
        for place in places.iter().filter(|p| p["location"] == location) {
            let sellable = place["available"].as_i64().unwrap() - place["safety_stock"].as_i64().unwrap_or(0);
            if sellable < threshold {
                low.push((sku(i), sellable, threshold));
            }
        }
    }
    low.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    low
}

async fn listed(app: &TestApp, location: &str) -> Vec<(String, i64, i64)> {
    crate::low_stock::listed(app, &format!("?location={location}")).await
}

/// A full scan's low-stock list at each of `PLACES`.
async fn everywhere(app: &TestApp) -> Vec<Vec<(String, i64, i64)>> {
    let mut all = Vec::new();
    for place in PLACES {
        all.push(scanned(app, place).await);
    }
    all
}

/// `GET /v1/alerts/low-stock?location=` at each of `PLACES`.
async fn each_place(app: &TestApp) -> Vec<Vec<(String, i64, i64)>> {
    let mut all = Vec::new();
    for place in PLACES {
        all.push(listed(app, place).await);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_index_at_each_location_equals_a_full_scan_after_a_rush() {
    rush_at_locations(&spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_without_group_commit() {
    rush_at_locations(&spawn_app_with(AppOptions::default(), |c| c.batching = false).await).await;
}

/// Every kind of change at once, then takes alone, then transfers alone, each phase ending
/// with the index equal to a full scan at every location; and `verify` names a drifted entry.
async fn rush_at_locations(app: &TestApp) {
    for i in 0..SKUS {
        app.set_stock(&sku(i), 12).await;
        // Every fourth SKU keeps `default` alone; the others stock two named locations.
        if i % 4 != 3 {
            for (place, available) in [("east", 20), ("west", 15)] {
                put(
                    app,
                    &format!("/v1/skus/{}/locations/{place}/stock", sku(i)),
                    json!({"available": available}),
                )
                .await;
            }
        }
        put(
            app,
            &format!("/v1/skus/{}/alerts", sku(i)),
            json!({"low_stock_threshold": 6 + i % 5}),
        )
        .await;
    }
    let buyer = |i: usize| json!({"sku": sku(i % SKUS), "quantity": 1 + i % 3, "user_id": format!("b{i}")});
    let buyers = async {
        let (watch, lua) = tokio::join!(
            app.fire("/v1/purchases?strategy=watch", 300, 40, buyer),
            app.fire("/v1/purchases?strategy=lua", 300, 40, |i| buyer(i + 300)),
        );
        [watch, lua].concat()
    };
    let holds = || {
        holds_some_cancelled(
            app,
            60,
            |i| json!([{"sku": sku(i % SKUS), "quantity": 2}, {"sku": sku((i + 5) % SKUS), "quantity": 1}]),
            |i| i % 3 != 0,
        )
    };
    let admin = async {
        for round in 0..30 {
            let (i, named) = (round * 5 % SKUS, round * 5 % SKUS % 4 != 3);
            if named {
                // Transfers move no total: only the locations' entries change.
                let (status, body) = app
                    .post(
                        &format!("/v1/skus/{}/transfers", sku(i)),
                        json!({"from": "east", "to": "west", "quantity": 2}),
                    )
                    .await;
                assert!([200, 409].contains(&status), "{body}");
                let (status, body) = app
                    .post(
                        &format!("/v1/skus/{}/restock", sku(i)),
                        json!({"quantity": 3, "location": "east"}),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
                put(
                    app,
                    &format!("/v1/skus/{}/locations/west/stock", sku(i)),
                    json!({"available": 4 + round % 6, "safety_stock": round % 3}),
                )
                .await;
            }
            if round % 10 == 9 {
                put(
                    app,
                    &format!("/v1/skus/{}/alerts", sku(i)),
                    json!({"low_stock_threshold": 9 + round % 4}),
                )
                .await;
            }
        }
    };
    let (bought, held, ()) = tokio::join!(buyers, holds(), admin);
    assert!(bought.iter().all(|s| [201, 409].contains(s)), "{bought:?}");
    assert!(held.iter().all(|s| [201, 409].contains(s)), "{held:?}");
    assert_eq!(each_place(app).await, everywhere(app).await);
    // Then takes alone (whatever changed a SKU last is what its entries show): restocked
    // first, so that the takes move locations within the low range and out of it.
    for i in 0..SKUS {
        let body = if i % 4 == 3 {
            json!({"quantity": 6})
        } else {
            json!({"quantity": 6, "location": "east"})
        };
        let (status, answer) = app.post(&format!("/v1/skus/{}/restock", sku(i)), body).await;
        assert_eq!(status, 200, "{answer}");
    }
    let late = |i: usize| json!({"sku": sku(i % SKUS), "quantity": 1, "user_id": format!("late{i}")});
    let (watch, lua, held) = tokio::join!(
        app.fire("/v1/purchases?strategy=watch", 150, 30, late),
        app.fire("/v1/purchases?strategy=lua", 150, 30, |i| late(i + 150)),
        holds(),
    );
    assert!([watch, lua, held].concat().iter().all(|s| [201, 409].contains(s)));
    assert_eq!(each_place(app).await, everywhere(app).await);
    // Last a transfer on each SKU with named locations: no alert check runs on it.
    for i in (0..SKUS).filter(|i| i % 4 != 3) {
        let (status, body) = app
            .post(
                &format!("/v1/skus/{}/transfers", sku(i)),
                json!({"from": "west", "to": "east", "quantity": 1}),
            )
            .await;
        assert!([200, 409].contains(&status), "{body}");
    }
    let want = everywhere(app).await;
    assert_eq!(each_place(app).await, want);
    let low: usize = want.iter().map(Vec::len).sum();
    assert!(low >= 5, "the rush should leave some locations low: {want:?}");
    let report = app.verify().await;
    assert!(report.ok, "{:#?}", report.violations);

    // An entry that drifted from the levels is a violation `verify` names, at its location.
    let east = app.store.keys().low_stock_at(app.store.feed_slot(0), "east");
    let found: Vec<_> = drift(app, &east, &sku(0), -7)
        .await
        .into_iter()
        .map(|v| (v.rule, v.sku, v.message.contains("at east")))
        .collect();
    assert_eq!(found, [("low_stock_index_mismatch", Some(sku(0)), true)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_sku_and_one_without_rules_leave_no_entry_at_any_location() {
    let app = spawn_app().await;
    for s in ["r-1", "r-2"] {
        app.set_stock(s, 1).await;
        put(
            &app,
            &format!("/v1/skus/{s}/locations/east/stock"),
            json!({"available": 2}),
        )
        .await;
        put(&app, &format!("/v1/skus/{s}/alerts"), json!({"low_stock_threshold": 5})).await;
    }
    assert_eq!(listed(&app, "east").await, [("r-1".into(), 2, 5), ("r-2".into(), 2, 5)]);
    assert_eq!(
        listed(&app, "default").await,
        [("r-1".into(), 1, 5), ("r-2".into(), 1, 5)]
    );
    let (status, body) = app.send(Method::DELETE, "/v1/skus/r-1", None).await;
    assert_eq!(status, 200, "{body}");
    // No rules at all (the library's call; over HTTP a threshold is only ever replaced).
    let r2 = Sku::parse("r-2").unwrap();
    alerts::set_rules(&app.store, &r2, Rules::default()).await.unwrap();
    for place in ["east", "default"] {
        assert_eq!(listed(&app, place).await, [], "at {place}");
    }
    assert_eq!(listed(&app, "nowhere").await, [], "a location no SKU has lists nothing");
    let report = app.verify().await;
    assert!(report.ok, "{:#?}", report.violations);
}
