//! Stock on its way: purchase orders made, listed, received in parts and refused, the
//! reorder rule that counts them, and `verify`'s rule for them.

use crate::helpers::{TestApp, at_location as at, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn expect(app: &TestApp, sku: &str, body: Value) -> (u16, Value) {
    app.post(&format!("/v1/skus/{sku}/incoming"), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_orders_are_made_received_in_parts_and_refused_cleanly() {
    let app = spawn_app().await;
    app.set_stock("bolt", 5).await;
    let (status, _) = app
        .send(
            Method::PUT,
            "/v1/skus/bolt/locations/east/stock",
            Some(json!({"available": 0})),
        )
        .await;
    assert_eq!(status, 200);
    let order = json!({"ref": "PO-1", "quantity": 300, "expected_at": "2030-02-01T09:00:00+01:00", "location": "east"});
    let (status, body) = expect(&app, "bolt", order.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["purchase_order"],
        json!({"ref": "PO-1", "quantity": 300, "received": 0, "expected_at": "2030-02-01T08:00:00Z", "location": "east", "preordered": 0})
    );
    assert_eq!(
        (
            body["stock"]["incoming"].as_i64(),
            at(&body["stock"], "east", "incoming")
        ),
        (Some(300), 300)
    );
    assert_eq!(body["stock"]["available"], 5, "on its way is not on sale");
    // Refusals change nothing.
    let before = app.dump().await;
    for (bad, status, code) in [
        (order.clone(), 409, "purchase_order_exists"),
        (
            json!({"ref": "PO-2", "quantity": 1, "expected_at": "2030-01-01T00:00:00Z", "location": "west"}),
            404,
            "unknown_location",
        ),
        (
            json!({"ref": "PO-2", "quantity": 1, "expected_at": "soon"}),
            400,
            "invalid_request",
        ),
        (
            json!({"ref": "PO 2", "quantity": 1, "expected_at": "2030-01-01T00:00:00Z"}),
            400,
            "invalid_request",
        ),
        (
            json!({"ref": "PO-2", "quantity": 0, "expected_at": "2030-01-01T00:00:00Z"}),
            400,
            "invalid_request",
        ),
    ] {
        let (got, body) = expect(&app, "bolt", bad.clone()).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(code)), "{bad}: {body}");
    }
    let (status, body) = expect(&app, "nut", order.clone()).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_sku")));
    assert_eq!(app.dump().await, before);

    // Received in parts: incoming to available at its location, as stock received.
    let receive = "/v1/skus/bolt/incoming/PO-1/receive";
    let (status, first) = app.post_keyed(receive, json!({"quantity": 100}), "dock-1").await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = app.post_keyed(receive, json!({"quantity": 100}), "dock-1").await;
    assert_eq!((status, &again), (200, &first), "a resent receipt is received once");
    let body: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(body["purchase_order"]["received"], 100);
    assert_eq!(
        (body["stock"]["available"].as_i64(), body["stock"]["incoming"].as_i64()),
        (Some(105), Some(200))
    );
    assert_eq!(
        (
            at(&body["stock"], "east", "available"),
            at(&body["stock"], "east", "incoming")
        ),
        (100, 200)
    );
    let (status, body) = app.post(receive, json!({"quantity": 250})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        (&body["error"], &body["ref"], &body["incoming"], &body["requested"]),
        (
            &json!("receipt_exceeds_incoming"),
            &json!("PO-1"),
            &json!(200),
            &json!(250)
        )
    );
    let (status, body) = app.post(receive, json!({})).await;
    assert_eq!(
        (status, &body["purchase_order"]["received"]),
        (200, &json!(300)),
        "no quantity: the rest"
    );
    assert_eq!(body["stock"]["incoming"], 0);
    let (status, body) = app.post(receive, json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("receipt_exceeds_incoming"))
    );
    let (status, body) = app.post("/v1/skus/bolt/incoming/PO-9/receive", json!({})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_purchase_order")));
    assert_eq!(app.movement_kinds("bolt", 3).await, ["receive", "receive", "expect"]);
    let (_, moves) = app.get("/v1/skus/bolt/movements?limit=1").await;
    assert_eq!(moves["movements"][0]["purchase_order"], "PO-1");

    // Listed soonest first, received ones included.
    let sooner = json!({"ref": "PO-0", "quantity": 10, "expected_at": "2030-01-01T00:00:00Z"});
    assert_eq!(expect(&app, "bolt", sooner).await.0, 201);
    let (status, list) = app.get("/v1/skus/bolt/incoming").await;
    assert_eq!(status, 200);
    let refs: Vec<&str> = list["purchase_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["PO-0", "PO-1"]);
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
    // A counter that drifted from its orders is named.
    let sku = stockwatch::domain::Sku::parse("bolt").unwrap();
    let _: i64 = redis::cmd("HINCRBY")
        .arg(app.store.keys().stock(&sku))
        .arg("incoming")
        .arg(1)
        .query_async(&mut app.redis.raw().await)
        .await
        .unwrap();
    let report = app.verify().await;
    assert!(
        report.violations.iter().any(|v| v.rule == "incoming_mismatch"),
        "{:?}",
        report.violations
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reorder_alert_while_stock_on_its_way_covers_the_point() {
    let app = spawn_app().await;
    app.set_stock("bolt", 100).await;
    let rules = json!({"low_stock_threshold": 10, "reorder_point": 50, "reorder_quantity": 200});
    assert_eq!(app.send(Method::PUT, "/v1/skus/bolt/alerts", Some(rules)).await.0, 200);
    let order = json!({"ref": "PO-7", "quantity": 100, "expected_at": "2030-01-01T00:00:00Z"});
    assert_eq!(expect(&app, "bolt", order).await.0, 201);
    let buy = |n: i64| {
        let app = &app;
        async move {
            let body = json!({"sku": "bolt", "quantity": n, "user_id": "shop"});
            let (status, answer) = app.post("/v1/purchases?strategy=lua", body).await;
            assert_eq!(status, 201, "{answer}");
        }
    };
    let reorders = || {
        let app = &app;
        async move {
            let (_, body) = app.get("/v1/alerts?sku=bolt").await;
            body["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["type"] == "reorder")
                .count()
        }
    };
    // 40 available and 100 on the way: 140 covers the point of 50.
    buy(60).await;
    assert_eq!(reorders().await, 0);
    // Received: 140 available; then down to 45 with nothing on the way: reorder.
    assert_eq!(app.post("/v1/skus/bolt/incoming/PO-7/receive", json!({})).await.0, 200);
    assert_eq!(reorders().await, 0, "a receipt moves nothing below the point");
    buy(95).await;
    assert_eq!(reorders().await, 1);
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}
