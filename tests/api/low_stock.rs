//! The low-stock index (`GET /v1/alerts/low-stock` without a location): equal to a full scan
//! of the levels after a rush of every kind of take, restocks, threshold changes and
//! imports at once; built once for thresholds of earlier versions; checked by `verify`; and
//! the same on a cluster, in total and at a location.

use crate::cluster::{TestCluster, one_per_master};
use crate::helpers::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use stockwatch::domain::{Available, Limit, Location, Priority, Quantity, Sku, Strategy, UserId};
use stockwatch::ops::level::Rules;
use stockwatch::ops::{self, Inventory, alerts};

const SKUS: usize = 20;

fn sku(i: usize) -> String {
    format!("low-{i:02}")
}

/// What a full scan says is low, lowest first: `(sku, available, threshold)`.
async fn scanned(app: &TestApp) -> Vec<(String, i64, i64)> {
    let mut low = Vec::new();
    for i in 0..SKUS {
        let (_, stock) = app.get(&format!("/v1/skus/{}", sku(i))).await;
        let (_, rules) = app.get(&format!("/v1/skus/{}/alerts", sku(i))).await;
        let available = stock["available"].as_i64().unwrap();
        if let Some(threshold) = rules["low_stock_threshold"].as_i64().filter(|t| available < *t) {
            low.push((sku(i), available, threshold));
        }
    }
    low.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    low
}

/// `GET /v1/alerts/low-stock{query}`: `(sku, available, threshold)`, as listed.
pub(crate) async fn listed(app: &TestApp, query: &str) -> Vec<(String, i64, i64)> {
    let (status, body) = app.get(&format!("/v1/alerts/low-stock{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["sku"].as_str().unwrap().to_owned(),
                s["available"].as_i64().unwrap(),
                s["threshold"].as_i64().unwrap(),
            )
        })
        .collect()
}

pub(crate) async fn put(app: &TestApp, path: &str, body: Value) {
    let (status, answer) = app.send(Method::PUT, path, Some(body)).await;
    assert_eq!(status, 200, "{path}: {answer}");
}

/// `n` holds of `items(i)`, on `watch` and `lua` in turn, those with `cancel(i)` cancelled
/// straight after: each hold's status.
pub(crate) async fn holds_some_cancelled(
    app: &TestApp,
    n: usize,
    items: impl Fn(usize) -> Value,
    cancel: impl Fn(usize) -> bool,
) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..n {
        let strategy = ["watch", "lua"][i % 2];
        let (status, hold) = app
            .post(
                &format!("/v1/reservations?strategy={strategy}"),
                json!({"user_id": format!("h{i}"), "items": items(i), "ttl_seconds": 60}),
            )
            .await;
        statuses.push(status);
        if status == 201 && cancel(i) {
            let id = hold["reservation_id"].as_str().unwrap();
            let (status, _) = app.post(&format!("/v1/reservations/{id}/cancel"), json!({})).await;
            assert_eq!(status, 200);
        }
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_index_equals_a_full_scan_after_a_rush_with_restocks() {
    let app = spawn_app().await;
    for i in 0..SKUS {
        app.set_stock(&sku(i), 60).await;
        // Every fourth SKU has a threshold of 0 and a reorder rule: never in the list.
        let rules = if i % 4 == 3 {
            json!({"low_stock_threshold": 0, "reorder_point": 20, "reorder_quantity": 5})
        } else {
            json!({"low_stock_threshold": 10 + 2 * i})
        };
        put(&app, &format!("/v1/skus/{}/alerts", sku(i)), rules).await;
    }
    let buyer = |i: usize| json!({"sku": sku(i % SKUS), "quantity": 1 + i % 3, "user_id": format!("b{i}")});
    let buyers = async {
        let (watch, lua) = tokio::join!(
            app.fire("/v1/purchases?strategy=watch", 500, 50, buyer),
            app.fire("/v1/purchases?strategy=lua", 500, 50, |i| buyer(i + 500)),
        );
        [watch, lua].concat()
    };
    let carts = holds_some_cancelled(
        &app,
        100,
        |i| json!([{"sku": sku(i % SKUS), "quantity": 1}, {"sku": sku((i + 7) % SKUS), "quantity": 2}]),
        |i| i % 2 == 0,
    );
    let restocks = async {
        for i in 0..60 {
            let (status, body) = app
                .post(
                    &format!("/v1/skus/{}/restock", sku(i * 7 % SKUS)),
                    json!({"quantity": 4}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    let rules = async {
        for round in 0..3 {
            for i in [1, 5, 9] {
                let threshold = if round == 1 { 0 } else { 30 + round };
                put(
                    &app,
                    &format!("/v1/skus/{}/alerts", sku(i)),
                    json!({"low_stock_threshold": threshold}),
                )
                .await;
            }
            let rows = format!(
                "{{\"sku\":\"{}\",\"available\":{},\"low_stock_threshold\":25}}\n",
                sku(2),
                20 + round
            );
            let (status, summary) = app.import(&rows).await;
            assert_eq!(status, 200, "{summary}");
        }
    };
    let (bought, held, (), ()) = tokio::join!(buyers, carts, restocks, rules);
    assert!(bought.iter().all(|s| [201, 409].contains(s)), "{bought:?}");
    assert!(held.iter().all(|s| [201, 409].contains(s)), "{held:?}");
    assert!(bought.contains(&409), "the rush should sell some SKUs out");

    let want = scanned(&app).await;
    assert!(want.len() >= 3, "{want:?}");
    assert_eq!(listed(&app, "").await, want);
    assert_eq!(listed(&app, "?limit=3").await, want[..3]);
    let report = app.verify().await;
    assert!(report.ok, "{:#?}", report.violations);

    // An index that drifted from the levels is a violation `verify` names.
    let index = app.store.keys().low_stock(app.store.feed_slot(0));
    let found: Vec<_> = drift(&app, &index, &sku(3), 1)
        .await
        .into_iter()
        .map(|v| (v.rule, v.sku))
        .collect();
    assert_eq!(found, [("low_stock_index_mismatch", Some(sku(3)))]);
}

/// Sets `sku`'s entry in `index` to `score` behind the store's back: what `verify` says then.
pub(crate) async fn drift(app: &TestApp, index: &str, sku: &str, score: i64) -> Vec<ops::Violation> {
    let mut conn = app.redis.raw().await;
    let _: i64 = redis::cmd("ZADD")
        .arg(index)
        .arg(score)
        .arg(sku)
        .query_async(&mut conn)
        .await
        .unwrap();
    app.verify().await.violations
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_of_earlier_versions_are_indexed_once() {
    let app = spawn_app().await;
    for i in 0..SKUS {
        app.set_stock(&sku(i), i64::try_from(i).unwrap()).await;
        put(
            &app,
            &format!("/v1/skus/{}/alerts", sku(i)),
            json!({"low_stock_threshold": 8}),
        )
        .await;
    }
    let want = scanned(&app).await;
    assert_eq!(want.len(), 8);
    // A store from before the index: no index, no slots, no marker.
    let keys = app.store.keys();
    let mut conn = app.redis.raw().await;
    let _: i64 = redis::cmd("DEL")
        .arg(keys.low_stock(app.store.feed_slot(0)))
        .arg(keys.low_stock_slots())
        .arg(keys.low_stock_complete())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(listed(&app, "").await, []);
    assert!(
        app.verify().await.ok,
        "a store whose index is not built yet is not checked against it"
    );
    assert_eq!(
        alerts::backfill_low_stock(&app.store).await.unwrap(),
        u64::try_from(SKUS).unwrap()
    );
    assert_eq!(listed(&app, "").await, want);
    assert_eq!(alerts::backfill_low_stock(&app.store).await.unwrap(), 0, "once");
    assert!(app.verify().await.ok);
}

/// One SKU per master, each with 10 units at `default`, or with `at` (when given) 10 at
/// that location drawn first and 10 at `west`; a threshold of 9; and `i + 1` units bought
/// of the i-th on each strategy.
async fn stock_and_buy(store: &Inventory, prefix: &str, at: Option<&Location>) -> [Sku; 3] {
    let user = UserId::parse(&"u".into()).unwrap();
    let skus = one_per_master(prefix);
    let ten = Available::try_from(10).unwrap();
    for (i, sku) in skus.iter().enumerate() {
        match at {
            None => drop(ops::set_stock(store, sku, ten).await.unwrap()),
            Some(at) => {
                let west = Location::parse("west", "location").unwrap();
                for (place, priority) in [(at, 0), (&west, 1)] {
                    let priority = Some(Priority::try_from(priority).unwrap());
                    ops::set_location_stock(store, sku, place, ten, priority, None)
                        .await
                        .unwrap();
                }
            }
        }
        let rules = Rules {
            low_stock_threshold: Some(9),
            ..Rules::default()
        };
        alerts::set_rules(store, sku, rules).await.unwrap();
        for strategy in [Strategy::Lua, Strategy::Watch] {
            let quantity = Quantity::parse(&(i + 1).into(), "q").unwrap();
            ops::purchase(store, strategy, sku, quantity, &user, None)
                .await
                .unwrap();
        }
    }
    skus
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_works_on_every_master_of_a_cluster() {
    let cluster = TestCluster::start().await;
    let store: Inventory = cluster.store(|_| {});
    let skus = stock_and_buy(&store, "low", None).await;
    let east = Location::parse("east", "location").unwrap();
    let named = stock_and_buy(&store, "lat", Some(&east)).await;
    let listed = |location: Option<&Location>, limit: Option<usize>| {
        let store = &store;
        let location = location.cloned();
        async move {
            let limit = limit.map(|l| Limit::try_from(l).unwrap());
            let low = alerts::low_stock(store, location.as_ref(), limit).await.unwrap();
            low.skus.into_iter().map(|l| (l.sku, l.available)).collect::<Vec<_>>()
        }
    };
    // 10 - 2, 10 - 4 and 10 - 6 left: all below 9, lowest first. The SKUs with locations
    // hold 20 in all (not low) and the same left at `east`, drawn first.
    let [a, b, c] = skus.clone();
    assert_eq!(listed(None, Some(2)).await, [(c.clone(), 4), (b.clone(), 6)]);
    let [x, y, z] = named.clone();
    assert_eq!(
        listed(Some(&east), None).await,
        [(z, 4), (y.clone(), 6), (x.clone(), 8)]
    );
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:#?}", report.violations);
    ops::retire(&store, &skus[2]).await.unwrap();
    ops::retire(&store, &named[2]).await.unwrap();
    assert_eq!(listed(None, None).await, [(b, 6), (a, 8)]);
    assert_eq!(listed(Some(&east), None).await, [(y, 6), (x, 8)]);
    assert!(ops::verify(&store).await.unwrap().ok);
}
