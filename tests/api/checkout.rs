//! Carts are all or nothing.

use crate::helpers::{count, spawn_app};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_cart_takes_nothing_and_lists_every_short_line() {
    let app = spawn_app().await;
    app.set_stock("a", 5).await;
    app.set_stock("b", 1).await;
    app.set_stock("c", 0).await;
    for strategy in ["watch", "lua", "broken"] {
        let before = app.dump().await;
        let cart = json!({"user_id": "u", "items": [
            {"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 2}, {"sku": "c", "quantity": 1}]});
        let (status, body) = app.post(&format!("/v1/checkouts?strategy={strategy}"), cart).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"], "insufficient_stock");
        assert_eq!(
            body["items"],
            json!([
            {"sku": "b", "available": 1, "requested": 2},
            {"sku": "c", "available": 0, "requested": 1}])
        );
        let unknown = json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}, {"sku": "nope", "quantity": 1}]});
        let (status, body) = app.post(&format!("/v1/checkouts?strategy={strategy}"), unknown).await;
        assert_eq!(status, 404);
        assert_eq!(
            (body["error"].as_str(), body["sku"].as_str()),
            (Some("unknown_sku"), Some("nope"))
        );
        assert_eq!(app.dump().await, before, "{strategy}: nothing changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_answers_per_line() {
    let app = spawn_app().await;
    app.set_stock("a", 5).await;
    app.set_stock("b", 3).await;
    let (status, body) = app
        .post(
            "/v1/checkouts",
            json!({"user_id": "u", "items": [{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 3}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["items"],
        json!([
            {"sku": "a", "quantity": 2, "remaining": 3, "allocations": [{"location": "default", "quantity": 2}]},
            {"sku": "b", "quantity": 3, "remaining": 0, "allocations": [{"location": "default", "quantity": 3}]}
        ])
    );
    let (_, order) = app
        .get(&format!("/v1/orders/{}", body["order_id"].as_str().unwrap()))
        .await;
    assert_eq!(order["source"], "checkout");
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
}

async fn concurrent_carts(strategy: &str) {
    let app = spawn_app().await;
    app.set_stock("a", 60).await;
    app.set_stock("b", 40).await;
    // 150 two-line carts race 100 single purchases of `b`.
    let mut tasks = Vec::new();
    for i in 0..250 {
        let (client, base, strategy) = (app.client.clone(), app.address.clone(), strategy.to_owned());
        tasks.push(tokio::spawn(async move {
            let (path, body) = if i % 5 < 3 {
                ("checkouts", json!({"user_id": format!("c{i}"), "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 1}]}))
            } else {
                ("purchases", json!({"user_id": format!("p{i}"), "sku": "b", "quantity": 1}))
            };
            let r = client.post(format!("{base}/v1/{path}?strategy={strategy}")).json(&body).send().await.unwrap();
            (path, r.status().as_u16())
        }));
    }
    let mut carts = Vec::new();
    let mut buys = Vec::new();
    for t in tasks {
        let (path, status) = t.await.unwrap();
        if path == "checkouts" {
            carts.push(status)
        } else {
            buys.push(status)
        }
    }
    let (carts_ok, buys_ok) = (count(&carts, 201) as i64, count(&buys, 201) as i64);
    assert_eq!(count(&carts, 201) + count(&carts, 409), carts.len(), "{carts:?}");
    assert_eq!(count(&buys, 201) + count(&buys, 409), buys.len(), "{buys:?}");
    let (a, b) = (app.stock("a").await, app.stock("b").await);
    // Every cart took both lines or neither: `a` moved only with carts.
    assert_eq!(a["sold"].as_i64().unwrap(), carts_ok);
    assert_eq!(a["available"].as_i64().unwrap(), 60 - carts_ok);
    assert_eq!(b["sold"].as_i64().unwrap(), carts_ok + buys_ok);
    assert_eq!(b["available"].as_i64().unwrap(), 0, "b is contended to exhaustion");
    assert_eq!(app.units_in_orders("a").await, carts_ok);
    assert_eq!(app.units_in_orders("b").await, carts_ok + buys_ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_carts_never_deduct_partially_on_watch() {
    concurrent_carts("watch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_carts_never_deduct_partially_on_lua() {
    concurrent_carts("lua").await;
}
