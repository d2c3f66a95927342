//! `POST /v1/movements`: scanner batches, each row applied once under its id.

use crate::helpers::{AppOptions, spawn_app, spawn_app_with};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

fn dock_batch() -> Value {
    json!({"rows": [
        {"id": "dock:1", "sku": "tv", "kind": "receive", "quantity": 10, "location": "east"},
        {"id": "dock:2", "sku": "tv", "kind": "transfer", "from": "east", "to": "west", "quantity": 4},
        {"id": "dock:3", "sku": "radio", "kind": "adjust", "location": "default", "counted": 2, "reason": "lost"},
        {"id": "dock:4", "sku": "tv", "kind": "transfer", "from": "west", "to": "east", "quantity": 99},
        {"id": "dock:5", "sku": "tv", "kind": "receive", "quantity": -1},
        {"id": "dock:6", "sku": "ghost", "kind": "receive", "quantity": 1},
        {"sku": "tv", "kind": "receive", "quantity": 1},
        {"id": "dock:8", "sku": "tv", "kind": "adjust", "location": "west", "delta": -1, "reason": "damaged"}
    ]})
}

async fn stocked() -> crate::helpers::TestApp {
    let app = spawn_app().await;
    for (path, body) in [
        ("/v1/skus/tv/locations/east/stock", json!({"available": 0})),
        ("/v1/skus/tv/locations/west/stock", json!({"available": 0})),
        ("/v1/skus/radio/stock", json!({"available": 5})),
    ] {
        assert_eq!(app.send(Method::PUT, path, Some(body)).await.0, 200);
    }
    app
}

#[tokio::test]
async fn each_row_lands_or_is_refused_on_its_own() {
    let app = stocked().await;
    let (status, body) = app.send(Method::POST, "/v1/movements", Some(dock_batch())).await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [200, 200, 200, 409, 400, 404, 400, 200]);
    assert_eq!(
        results.iter().map(|r| r["row"].as_u64().unwrap()).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );
    assert_eq!(results[3]["error"], "insufficient_stock");
    assert_eq!(results[3]["location"], "west");
    assert!(
        results[4]["message"].as_str().unwrap().starts_with("rows[4]: quantity"),
        "{}",
        results[4]
    );
    assert_eq!(results[5]["error"], "unknown_sku");
    assert_eq!(
        (results[6]["id"].clone(), results[6]["error"].clone()),
        (Value::Null, json!("invalid_request"))
    );
    assert_eq!(results[7]["stock"]["available"], 9, "the stock after the row");
    let tv = app.stock("tv").await;
    let at = |name: &str| {
        tv["locations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["location"] == name)
            .unwrap()["available"]
            .clone()
    };
    assert_eq!(
        (at("east"), at("west")),
        (json!(6), json!(3)),
        "refused rows changed nothing"
    );
    assert_eq!(app.stock("radio").await["available"], 2);
}

#[tokio::test]
async fn a_resent_batch_changes_nothing_however_many_race() {
    let app = stocked().await;
    let first = app.send(Method::POST, "/v1/movements", Some(dock_batch())).await.1;
    let movements = |sku: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/v1/skus/{sku}/movements")).await.1["movements"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    let before = (movements("tv").await, movements("radio").await);
    // The scanner resends, many times at once.
    let resends = join_all((0..50).map(|_| app.send(Method::POST, "/v1/movements", Some(dock_batch())))).await;
    for (status, body) in resends {
        assert_eq!(status, 200);
        assert_eq!(body, first, "every resend answers as the first time");
    }
    assert_eq!(
        (movements("tv").await, movements("radio").await),
        before,
        "no second effect"
    );
    assert_eq!(app.stock("tv").await["available"], 9);
    // An id reused for another scan is refused, alone.
    let reused = json!({"rows": [
        {"id": "dock:1", "sku": "tv", "kind": "receive", "quantity": 11, "location": "east"},
        {"id": "dock:9", "sku": "tv", "kind": "receive", "quantity": 1}
    ]});
    let body = app.send(Method::POST, "/v1/movements", Some(reused)).await.1;
    assert_eq!(body["results"][0]["status"], 422);
    assert_eq!(body["results"][0]["error"], "idempotency_key_reused");
    assert_eq!(body["results"][1]["status"], 200);
    assert_eq!(app.stock("tv").await["available"], 10);
}

#[tokio::test]
async fn a_batch_is_an_admin_write_with_a_bounded_shape() {
    let app = spawn_app_with(
        AppOptions {
            admin_token: Some("scanner-admin-token".into()),
            ..AppOptions::default()
        },
        |_| {},
    )
    .await;
    let (status, _) = app.send(Method::POST, "/v1/movements", Some(json!({"rows": []}))).await;
    assert_eq!(status, 401);
    let post = |body: Value| {
        app.client
            .post(app.url("/v1/movements"))
            .bearer_auth("scanner-admin-token")
            .json(&body)
            .send()
    };
    for bad in [
        json!({"rows": []}),
        json!({}),
        json!([]),
        json!({"rows": {"id": "x"}}),
        json!({"rows": [1]}),
    ] {
        assert_eq!(post(bad.clone()).await.unwrap().status(), 400, "{bad}");
    }
    let too_many: Vec<Value> = (0..501)
        .map(|i| json!({"id": format!("r{i}"), "sku": "a", "kind": "receive", "quantity": 1}))
        .collect();
    let status = post(json!({ "rows": too_many })).await.unwrap().status();
    assert!(status == 400 || status == 413, "{status}");
}
