//! Safety stock: units of `available` kept back, never sold, on every strategy and at every
//! location, and the figure alerts and the low-stock list read.

use crate::helpers::{TestApp, spawn_app};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

async fn put(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, answer) = app.send(Method::PUT, path, Some(body)).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rush_never_sells_the_safety_stock_on_any_strategy() {
    let app = spawn_app().await;
    for strategy in ["watch", "lua"] {
        let sku = format!("kept-{strategy}");
        let stock = put(
            &app,
            &format!("/v1/skus/{sku}/stock"),
            json!({"available": 100, "safety_stock": 20}),
        )
        .await;
        assert_eq!((&stock["available"], &stock["safety_stock"]), (&json!(100), &json!(20)));
        let answers: Vec<u16> = futures_util::stream::iter(0..200)
            .map(|i| {
                let (app, sku) = (&app, sku.clone());
                async move {
                    let body = json!({"sku": sku, "quantity": 1, "user_id": format!("u{i}")});
                    app.post(&format!("/v1/purchases?strategy={strategy}"), body).await.0
                }
            })
            .buffer_unordered(200)
            .collect()
            .await;
        assert_eq!(
            answers.iter().filter(|s| **s == 201).count(),
            80,
            "{strategy}: {answers:?}"
        );
        assert!(
            answers.iter().all(|s| [201, 409].contains(s)),
            "{strategy}: {answers:?}"
        );
        let stock = app.stock(&sku).await;
        assert_eq!(
            (&stock["available"], &stock["sold"]),
            (&json!(20), &json!(80)),
            "{strategy}"
        );
        // A refusal names what can be sold, not what is on the shelf.
        let body = json!({"sku": sku, "quantity": 1, "user_id": "late"});
        let (status, refusal) = app.post(&format!("/v1/purchases?strategy={strategy}"), body).await;
        assert_eq!(
            (status, &refusal["available"]),
            (409, &json!(0)),
            "{strategy}: {refusal}"
        );
    }
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_location_keeps_its_own_safety_stock_and_alerts_read_what_can_be_sold() {
    let app = spawn_app().await;
    put(
        &app,
        "/v1/skus/pad/locations/east/stock",
        json!({"available": 10, "priority": 1, "safety_stock": 8}),
    )
    .await;
    put(
        &app,
        "/v1/skus/pad/locations/west/stock",
        json!({"available": 10, "priority": 2}),
    )
    .await;
    for strategy in ["watch", "lua"] {
        let body = json!({"sku": "pad", "quantity": 3, "user_id": "ann"});
        let (status, bought) = app.post(&format!("/v1/purchases?strategy={strategy}"), body).await;
        assert_eq!(status, 201, "{bought}");
        if strategy == "watch" {
            // East can sell 2 of its 10; the rest comes from west.
            assert_eq!(
                bought["allocations"],
                json!([{"location": "east", "quantity": 2}, {"location": "west", "quantity": 1}])
            );
        } else {
            assert_eq!(bought["allocations"], json!([{"location": "west", "quantity": 3}]));
        }
        let pinned = json!({"sku": "pad", "quantity": 1, "user_id": "ann", "location": "east"});
        let (status, refusal) = app.post(&format!("/v1/purchases?strategy={strategy}"), pinned).await;
        assert_eq!(
            (status, &refusal["available"]),
            (409, &json!(0)),
            "{strategy}: {refusal}"
        );
    }
    let stock = app.stock("pad").await;
    assert_eq!((&stock["available"], &stock["safety_stock"]), (&json!(14), &json!(8)));
    // Raising a safety stock lowers what can be sold (6 of 14 now): the low-stock alert and
    // list see it.
    put(&app, "/v1/skus/pad/alerts", json!({"low_stock_threshold": 5})).await;
    put(
        &app,
        "/v1/skus/pad/locations/west/stock",
        json!({"available": 6, "safety_stock": 2}),
    )
    .await;
    let (_, alerts) = app.get("/v1/alerts?sku=pad").await;
    let kinds: Vec<&str> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"low_stock"), "{alerts}");
    let (_, low) = app.get("/v1/alerts/low-stock").await;
    assert_eq!(
        low["skus"],
        json!([{"sku": "pad", "available": 4, "threshold": 5}]),
        "14 less 10 kept back"
    );
    // Bad input changes nothing.
    let before = app.dump().await;
    let (status, body) = app
        .send(
            Method::PUT,
            "/v1/skus/pad/stock",
            Some(json!({"available": 5, "safety_stock": -1})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert_eq!(app.dump().await, before);
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cart_across_masters_keeps_each_skus_safety_stock() {
    use crate::cluster::{TestCluster, cart, one_per_master};
    use stockwatch::domain::{Available, Location, Strategy, UserId};
    use stockwatch::ops;
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let [a, b, _] = one_per_master("kept");
    let level = |n: u32| Available::try_from(n).unwrap();
    for sku in [&a, &b] {
        let default = Location::default_location();
        ops::set_location_stock(&store, sku, &default, level(10), None, Some(level(4)))
            .await
            .unwrap();
    }
    let ann = UserId::parse(&"ann".into()).unwrap();
    for strategy in [Strategy::Watch, Strategy::Lua] {
        // Six of each can be sold; seven of b would dip into its safety stock.
        let refused = ops::checkout(&store, strategy, &cart(&[(&a, 1), (&b, 7)]), &ann, None).await;
        assert!(
            matches!(refused, Err(stockwatch::error::Error::InsufficientStock { .. })),
            "{strategy:?}: {refused:?}"
        );
        ops::checkout(&store, strategy, &cart(&[(&a, 6), (&b, 6)]), &ann, None)
            .await
            .unwrap();
        let a_after = ops::get_stock(&store, &a).await.unwrap();
        assert_eq!((a_after.available, a_after.safety_stock), (4, 4), "{strategy:?}");
        let more = ops::checkout(&store, strategy, &cart(&[(&a, 1), (&b, 1)]), &ann, None).await;
        assert!(more.is_err(), "{strategy:?}: nothing left to sell");
        // Back to 10 for the next strategy.
        for sku in [&a, &b] {
            let default = Location::default_location();
            ops::set_location_stock(&store, sku, &default, level(10), None, None)
                .await
                .unwrap();
        }
    }
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
}
