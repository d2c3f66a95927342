//! Retiring a SKU (`DELETE /v1/skus/{sku}`): refused while units are held, then gone from
//! every read while its orders stay; `verify` (and `verify --ledger`) stay exact through a
//! retirement, a rebirth under the same name and a second retirement, during a rush too,
//! and on a cluster.

use crate::cluster::{TestCluster, one_per_master};
use crate::helpers::{TestApp, TestRedis, spawn_app};
use crate::ledger::TestBooks;
use reqwest::Method;
use serde_json::{Value, json};
use stockwatch::domain::{Available, Quantity, Strategy, UserId};
use stockwatch::error::Error;
use stockwatch::ops::{self, Inventory};

async fn retire(app: &TestApp, sku: &str) -> (u16, Value) {
    app.send(Method::DELETE, &format!("/v1/skus/{sku}"), None).await
}

async fn buy(app: &TestApp, sku: &str, quantity: i64, location: Option<&str>) -> String {
    let mut body = json!({"sku": sku, "quantity": quantity, "user_id": "shopper"});
    if let Some(l) = location {
        body["location"] = json!(l);
    }
    let (status, order) = app.post("/v1/purchases", body).await;
    assert_eq!(status, 201, "{order}");
    order["order_id"].as_str().unwrap().to_owned()
}

fn rules(report: &ops::Report) -> Vec<(&str, Option<&str>)> {
    report.violations.iter().map(|v| (v.rule, v.sku.as_deref())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_sku_is_gone_its_orders_stay_and_verify_stays_exact() {
    let app = spawn_app().await;
    app.set_stock("tv", 10).await;
    let (status, body) = app
        .send(
            Method::PUT,
            "/v1/skus/tv/locations/east/stock",
            Some(json!({"available": 4, "priority": 0})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app
        .send(
            Method::PUT,
            "/v1/skus/tv/alerts",
            Some(json!({"low_stock_threshold": 50})),
        )
        .await;
    assert_eq!(status, 200);
    let first = buy(&app, "tv", 3, Some("east")).await;
    let second = buy(&app, "tv", 2, None).await;
    let hold = app.reserve("watch", &[("tv", 1)], 60).await;

    // Held units: refused, and nothing changes.
    let before = app.dump().await;
    let (status, body) = retire(&app, "tv").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        (body["error"].as_str(), body["reserved"].as_i64()),
        (Some("sku_in_use"), Some(1))
    );
    assert_eq!(app.dump().await, before);

    let id = hold["reservation_id"].as_str().unwrap();
    let (status, _) = app.post(&format!("/v1/reservations/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = retire(&app, "tv").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["written_off"].as_i64(), body["sold"].as_i64()),
        (Some(9), Some(5))
    );

    // Gone from every read; its orders stay.
    assert_eq!(app.get("/v1/skus/tv").await.0, 404);
    assert_eq!(app.get("/v1/skus/tv/movements").await.0, 404);
    assert_eq!(app.get("/v1/skus/tv/alerts").await.0, 404);
    let (_, page) = app.get("/v1/skus").await;
    assert_eq!(page["skus"], json!([]), "{page}");
    let (_, low) = app.get("/v1/alerts/low-stock").await;
    assert_eq!(low["skus"], json!([]), "{low}");
    for order in [&first, &second] {
        let (status, body) = app.get(&format!("/v1/orders/{order}")).await;
        assert_eq!((status, body["items"][0]["sku"].as_str()), (200, Some("tv")), "{body}");
    }
    assert_eq!(retire(&app, "tv").await.0, 404);
    assert_eq!(
        app.post("/v1/purchases", json!({"sku": "tv", "quantity": 1, "user_id": "late"}))
            .await
            .0,
        404
    );
    let report = app.verify().await;
    assert!(report.ok, "{:#?}", report.violations);

    // The same name again is a fresh SKU: counters at 0, one movement, its own locations.
    app.set_stock("tv", 6).await;
    let (_, stock) = app.get("/v1/skus/tv").await;
    assert_eq!(
        (stock["sold"].as_i64(), stock["locations"].as_array().map(Vec::len)),
        (Some(0), Some(1)),
        "{stock}"
    );
    let (_, moves) = app.get("/v1/skus/tv/movements").await;
    assert_eq!(moves["movements"].as_array().map(Vec::len), Some(1), "{moves}");
    let (_, rules_now) = app.get("/v1/skus/tv/alerts").await;
    assert_eq!(rules_now["low_stock_threshold"], Value::Null);
    let (status, _) = app
        .send(
            Method::PUT,
            "/v1/skus/tv/locations/east/stock",
            Some(json!({"available": 2})),
        )
        .await;
    assert_eq!(status, 200);
    buy(&app, "tv", 1, Some("east")).await;
    buy(&app, "tv", 1, None).await;
    let report = app.verify().await;
    assert!(report.ok, "{:#?}", report.violations);

    // Retired twice: both lives' orders are accounted for.
    let (status, body) = retire(&app, "tv").await;
    assert_eq!((status, body["sold"].as_i64()), (200, Some(2)), "{body}");
    assert!(app.verify().await.ok);
    assert_eq!(app.units_in_orders("tv").await, 7);

    // A retired SKU's units that orders do not hold are a violation verify names.
    let store = &app.store;
    let retired_key = store
        .keys()
        .retired(store.keys().slot_of_sku(&stockwatch::domain::Sku::parse("tv").unwrap()));
    let mut conn = app.redis.raw().await;
    let _: i64 = redis::cmd("HINCRBY")
        .arg(&retired_key)
        .arg("tv")
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(rules(&app.verify().await), [("sold_mismatch", Some("tv"))]);

    // Names that are not SKUs never reach a key.
    assert_eq!(retire(&app, "bad:sku").await.0, 400);
    assert_eq!(retire(&app, "never").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retiring_during_a_rush_loses_no_order() {
    let app = spawn_app().await;
    for strategy in ["watch", "lua"] {
        let sku = format!("rush-{strategy}");
        app.set_stock(&sku, 5_000).await;
        let buyers = app.rush_limited(&sku, 2_000, strategy, 100);
        let retirer = async {
            // Once the rush is well under way.
            while app.get(&format!("/v1/skus/{sku}")).await.1["sold"].as_i64() < Some(200) {
                tokio::task::yield_now().await;
            }
            loop {
                match retire(&app, &sku).await {
                    (200, body) => break body,
                    // Units held for a moment by no one here; contention under the rush.
                    (503, _) => tokio::task::yield_now().await,
                    (status, body) => panic!("{status} {body}"),
                }
            }
        };
        let (statuses, retired) = tokio::join!(buyers, retirer);
        // Every buyer sold before the retirement or found no SKU after it.
        assert!(statuses.iter().all(|s| [201, 404].contains(s)), "{statuses:?}");
        let sold = statuses.iter().filter(|&&s| s == 201).count() as i64;
        assert_eq!(retired["sold"].as_i64(), Some(sold), "{retired}");
        assert_eq!(retired["written_off"].as_i64(), Some(5_000 - sold));
        assert_eq!(app.units_in_orders(&sku).await, sold);
    }
    let report = app.verify().await;
    assert!(report.ok, "{:#?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_books_record_a_retirement_and_stay_equal_to_redis() {
    let books = TestBooks::start().await;
    let options = crate::helpers::AppOptions {
        ledger: Some((books.url.clone(), Some(books.config()))),
        ..Default::default()
    };
    let app = crate::helpers::spawn_app_on(TestRedis::start().await, options, |c| c.journal = true).await;
    app.set_stock("cam", 8).await;
    buy(&app, "cam", 3, None).await;
    assert_eq!(retire(&app, "cam").await.0, 200);
    app.set_stock("cam", 4).await;
    buy(&app, "cam", 1, None).await;
    let pool = books.pool().await;
    let report = stockwatch::ledger::check(&app.store, &pool, std::time::Duration::from_secs(30), None)
        .await
        .unwrap();
    assert!(report.ok, "{:#?}", report.differences);
    let written_off: i64 =
        sqlx::query_scalar("SELECT sum(d_available)::bigint FROM movements WHERE sku = 'cam' AND kind = 'retire'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(written_off, -5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retiring_works_on_every_master_of_a_cluster() {
    let cluster = TestCluster::start().await;
    let store: Inventory = cluster.store(|_| {});
    let user = UserId::parse(&"u".into()).unwrap();
    let one = Quantity::parse(&1.into(), "q").unwrap();
    for sku in one_per_master("ret") {
        ops::set_stock(&store, &sku, Available::try_from(5).unwrap())
            .await
            .unwrap();
        ops::purchase(&store, Strategy::Lua, &sku, one, &user, None)
            .await
            .unwrap();
        let retired = ops::retire(&store, &sku).await.unwrap();
        assert_eq!((retired.written_off, retired.sold), (4, 1));
        assert!(matches!(
            ops::get_stock(&store, &sku).await,
            Err(Error::UnknownSku { .. })
        ));
        ops::set_stock(&store, &sku, Available::try_from(2).unwrap())
            .await
            .unwrap();
        ops::purchase(&store, Strategy::Watch, &sku, one, &user, None)
            .await
            .unwrap();
    }
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:#?}", report.violations);
    assert_eq!(report.orders, 6);
}

/// Imports `names` with 5 units each.
async fn import_names(app: &TestApp, names: &[String]) {
    let rows: String = names
        .iter()
        .map(|n| format!("{{\"sku\":\"{n}\",\"available\":5}}\n"))
        .collect();
    let (status, summary) = app.import(&rows).await;
    assert_eq!(status, 200, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_of_the_listing_while_skus_are_retired_and_made_never_repeats_or_skips_one() {
    use futures_util::future::join_all;
    let app = spawn_app().await;
    let stable: Vec<String> = (0..600).map(|i| format!("w-{i:04}")).collect();
    let doomed: Vec<String> = (0..300).map(|i| format!("w-{:04}d", i * 2)).collect();
    let born: Vec<String> = (0..300).map(|i| format!("w-{:04}b", i * 2 + 1)).collect();
    import_names(&app, &stable).await;
    import_names(&app, &doomed).await;
    let walk = async {
        let (mut seen, mut after) = (Vec::new(), None::<String>);
        loop {
            let query = after.as_ref().map_or(String::new(), |a| format!("&after={a}"));
            let (status, page) = app.get(&format!("/v1/skus?limit=23{query}")).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(
                page["skus"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["sku"].as_str().unwrap().to_owned()),
            );
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break seen,
            }
        }
    };
    let churn = async {
        for (gone, new) in doomed.chunks(20).zip(born.chunks(20)) {
            let retired = join_all(gone.iter().map(|n| retire(&app, n))).await;
            assert!(retired.iter().all(|(status, _)| *status == 200), "{retired:?}");
            join_all(new.iter().map(|n| app.set_stock(n, 1))).await;
        }
    };
    let (seen, ()) = tokio::join!(walk, churn);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "in name order, no SKU twice");
    let missing: Vec<&String> = stable.iter().filter(|n| !seen.contains(n)).collect();
    assert!(missing.is_empty(), "skipped {missing:?}");
    // Once the churn is over, the listing is exactly the SKUs that exist.
    let (_, page) = app.get("/v1/skus?limit=1000").await;
    let listed: Vec<&str> = page["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sku"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = stable.iter().chain(&born).map(String::as_str).collect();
    want.sort();
    assert_eq!(listed, want);
    assert!(app.verify().await.ok);
}
