//! Movements: every stock change is appended with the change, and listed newest first.

use crate::helpers::{AppOptions, spawn_app, spawn_app_with};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_change_is_recorded_newest_first() {
    let app = spawn_app().await;
    app.set_stock("a", 10).await;
    let (status, _) = app.post("/v1/skus/a/restock", json!({"quantity": 5})).await;
    assert_eq!(status, 200);
    let (status, bought) = app
        .post("/v1/purchases", json!({"sku": "a", "quantity": 1, "user_id": "u"}))
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .post(
            "/v1/checkouts?strategy=lua",
            json!({"user_id": "u", "items": [{"sku": "a", "quantity": 2}]}),
        )
        .await;
    assert_eq!(status, 201);
    let confirmed = app.reserve("watch", &[("a", 3)], 60).await;
    let id = confirmed["reservation_id"].as_str().unwrap();
    assert_eq!(
        app.post(&format!("/v1/reservations/{id}/confirm"), json!({})).await.0,
        201
    );
    let cancelled = app.reserve("lua", &[("a", 1)], 60).await;
    let cid = cancelled["reservation_id"].as_str().unwrap();
    assert_eq!(
        app.post(&format!("/v1/reservations/{cid}/cancel"), json!({})).await.0,
        200
    );
    let lapsed = app.reserve("watch", &[("a", 2)], 1).await;
    let lid = lapsed["reservation_id"].as_str().unwrap();
    let mut swept = false;
    for _ in 0..200 {
        if app.get(&format!("/v1/reservations/{lid}")).await.1["status"] == "expired"
            && app.stock("a").await["reserved"] == 0
        {
            swept = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(swept, "the worker released the lapsed hold");
    app.set_stock("a", 4).await;

    let (status, body) = app.get("/v1/skus/a/movements").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sku"], "a");
    let moves = body["movements"].as_array().unwrap();
    let kinds: Vec<&str> = moves.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "set", "expire", "reserve", "cancel", "reserve", "confirm", "reserve", "checkout", "purchase", "restock",
            "set"
        ],
        "newest first"
    );
    let quantities: Vec<i64> = moves.iter().map(|m| m["quantity"].as_i64().unwrap()).collect();
    // Holds that were cancelled or expired came back, so only the sales and the confirmed hold count.
    let stock_before_set = 15 - 1 - 2 - 3;
    assert_eq!(
        quantities[0],
        4 - stock_before_set,
        "a set records the difference it made"
    );
    assert_eq!(&quantities[1..], [2, 2, 1, 1, 3, 3, 2, 1, 5, 10]);
    assert_eq!(moves[8]["ref"], bought["order_id"]);
    assert_eq!(moves[5]["ref"], id, "lifecycle movements point at the reservation");
    assert!(
        moves
            .iter()
            .all(|m| m["id"].as_str().unwrap().contains('-') && m["at"].as_i64().unwrap() > 0)
    );
    let ids: Vec<&str> = moves.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by_key(|i| {
        let (ms, seq) = i.split_once('-').unwrap();
        std::cmp::Reverse((ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap()))
    });
    assert_eq!(ids, sorted);

    let (_, two) = app.get("/v1/skus/a/movements?limit=2").await;
    assert_eq!(two["movements"].as_array().unwrap().len(), 2);
    assert_eq!(two["movements"][1]["kind"], "expire");
    assert!(app.verify().await.ok, "movements add up to the received counter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_and_unknown_skus() {
    let app = spawn_app().await;
    app.set_stock("a", 1).await;
    for q in ["0", "1001", "x", "-1"] {
        let (status, body) = app.get(&format!("/v1/skus/a/movements?limit={q}")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{q}");
    }
    let (status, body) = app.get("/v1/skus/nope/movements").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_sku")));
    for sku in ["a%7Bx%7D", "a:b", "%2A"] {
        let (status, body) = app.get(&format!("/v1/skus/{sku}/movements")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{sku}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_capped() {
    let app = spawn_app_with(AppOptions::default(), |c| c.movements_maxlen = 10).await;
    app.set_stock("a", 2000).await;
    app.rush_limited("a", 1000, "lua", 50).await;
    let mut conn = app.redis.raw().await;
    let len: usize = redis::cmd("XLEN")
        .arg(
            app.store
                .keys()
                .movements(&stockwatch::domain::Sku::parse("a").unwrap()),
        )
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(len < 300, "MAXLEN ~ 10 keeps the stream short, not 1001 entries: {len}");
    assert_eq!(app.stock("a").await["sold"], 1000, "the counters stay exact");
    let report = app.verify().await;
    assert!(report.ok, "a trimmed stream is not a violation: {report:?}");
}
