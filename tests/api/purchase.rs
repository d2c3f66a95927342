//! The seed scenario over HTTP: 500 concurrent buyers for 100 units.

use crate::helpers::{AppOptions, count, spawn_app, spawn_app_with};
use std::time::Duration;

async fn black_friday(strategy: &str) {
    let app = spawn_app().await;
    app.set_stock("ps5", 100).await;
    let statuses = app.rush("ps5", 500, strategy).await;
    assert_eq!(
        count(&statuses, 201),
        100,
        "{strategy}: exactly the stock's worth of orders"
    );
    assert_eq!(
        count(&statuses, 409),
        400,
        "{strategy}: everyone else is told it is sold out"
    );
    let stock = app.stock("ps5").await;
    assert_eq!(stock["available"], 0);
    assert_eq!(stock["sold"], 100);
    assert_eq!(app.units_in_orders("ps5").await, 100, "orders match what was sold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_never_oversells_500_buyers_for_100_units() {
    black_friday("watch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_never_oversells_500_buyers_for_100_units() {
    black_friday("lua").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_oversells_500_buyers_for_100_units() {
    let app = spawn_app().await;
    app.set_stock("ps5", 100).await;
    let statuses = app.rush("ps5", 500, "broken").await;
    let sold = count(&statuses, 201) as i64;
    assert!(sold > 100, "check-then-act must oversell; sold {sold}");
    let stock = app.stock("ps5").await;
    assert_eq!(
        stock["available"].as_i64().unwrap(),
        100 - sold,
        "the true (negative) level is reported"
    );
    assert_eq!(app.units_in_orders("ps5").await, sold);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_answers_with_the_order_it_stored() {
    let app = spawn_app().await;
    app.set_stock("mug", 3).await;
    for strategy in ["watch", "lua", "broken"] {
        let (status, body) = app
            .post(
                &format!("/v1/purchases?strategy={strategy}"),
                serde_json::json!({"sku": "mug", "quantity": 1, "user_id": "ann"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["sku"], "mug");
        assert_eq!(body["quantity"], 1);
        assert_eq!(body["attempts"], 1);
        let id = body["order_id"].as_str().unwrap();
        let (status, order) = app.get(&format!("/v1/orders/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(order["user_id"], "ann");
        assert_eq!(order["source"], "purchase");
        assert_eq!(order["items"][0]["quantity"], 1);
        assert!(order["created_at"].as_i64().unwrap() > 1_600_000_000_000);
    }
    let stock = app.stock("mug").await;
    assert_eq!(
        (stock["available"].as_i64(), stock["sold"].as_i64()),
        (Some(0), Some(3))
    );
}

async fn seed_b(strategy: &str) {
    // Correctness under load, not latency: a starved CI core must not turn a buyer into a 503.
    let app = spawn_app_with(AppOptions::default(), |c| c.response_timeout = Duration::from_secs(10)).await;
    app.set_stock("console", 1_000).await;
    let statuses = app.rush_limited("console", 10_000, strategy, 500).await;
    assert_eq!(count(&statuses, 201), 1_000, "{strategy}");
    assert_eq!(
        count(&statuses, 409),
        9_000,
        "{strategy}: nobody gave up while stock was left; others: {:?}",
        statuses.iter().filter(|s| **s != 201 && **s != 409).collect::<Vec<_>>()
    );
    assert_eq!(app.stock("console").await["available"], 0);
    assert_eq!(app.units_in_orders("console").await, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_serves_10000_buyers_for_1000_units_exactly() {
    seed_b("watch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_serves_10000_buyers_for_1000_units_exactly() {
    seed_b("lua").await;
}
