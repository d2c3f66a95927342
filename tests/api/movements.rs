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
async fn histories_are_capped() {
    let app = spawn_app_with(AppOptions::default(), |c| c.movements_maxlen = 10).await;
    app.set_stock("a", 2000).await;
    let history = app
        .store
        .keys()
        .movements(&stockwatch::domain::Sku::parse("a").unwrap());
    let mut conn = app.redis.raw().await;
    // Watch first: its batches start under the cap (no LTRIM) and must trim once past it.
    for strategy in ["watch", "lua"] {
        app.rush_limited("a", 550, strategy, 50).await;
        let len: usize = redis::cmd("LLEN").arg(&history).query_async(&mut conn).await.unwrap();
        assert_eq!(len, 10, "{strategy}: LTRIM keeps exactly the cap");
    }
    assert_eq!(app.stock("a").await["sold"], 1100, "the counters stay exact");
    let (_, body) = app.get("/v1/skus/a/movements?limit=1000").await;
    let ids: Vec<&str> = body["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 10, "the creation fell off with the rest: {ids:?}");
    let seq = |id: &str| id.split_once('-').unwrap().1.parse::<u64>().unwrap();
    assert_eq!(seq(ids[0]), 1101, "the newest is movement 1,101 (the set was 1)");
    assert!(ids.windows(2).all(|w| seq(w[0]) == seq(w[1]) + 1), "{ids:?}");
    let report = app.verify().await;
    assert!(report.ok, "a trimmed history is not a violation: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_at_rest_has_one_key_and_a_compact_hash() {
    let app = spawn_app().await;
    app.set_stock("quiet", 7).await;
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            "/v1/skus/far/locations/a-warehouse-whose-name-is-long-enough-to-overflow-born/stock",
            Some(json!({"available": 3})),
        )
        .await;
    assert_eq!(status, 200);
    let keys = app.store.keys();
    let sku = |s: &str| stockwatch::domain::Sku::parse(s).unwrap();
    let mut conn = app.redis.raw().await;
    let exists: bool = redis::cmd("EXISTS")
        .arg(keys.movements(&sku("quiet")))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!exists, "the creation lives in the hash: no history list yet");
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(keys.stock(&sku("quiet")))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(encoding, "listpack", "a small hash stays a listpack");
    for name in ["quiet", "far"] {
        let (_, body) = app.get(&format!("/v1/skus/{name}/movements")).await;
        let moves = body["movements"].as_array().unwrap();
        assert_eq!(moves.len(), 1, "{body}");
        assert_eq!(moves[0]["kind"], "set");
        assert!(moves[0]["id"].as_str().unwrap().ends_with("-1"), "{body}");
    }
    let (_, far) = app.get("/v1/skus/far/movements").await;
    assert_eq!(far["movements"][0]["quantity"], 3);
    assert_eq!(
        far["movements"][0]["location"],
        "a-warehouse-whose-name-is-long-enough-to-overflow-born"
    );
    // The first sale creates the list; the creation is still movement 1.
    let (status, _) = app
        .post("/v1/purchases", json!({"sku": "quiet", "quantity": 2, "user_id": "u"}))
        .await;
    assert_eq!(status, 201);
    let (_, body) = app.get("/v1/skus/quiet/movements").await;
    let kinds: Vec<&str> = body["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["purchase", "set"]);
    assert!(body["movements"][0]["id"].as_str().unwrap().ends_with("-2"));
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn movement_streams_of_earlier_versions_are_converted_once() {
    let app = spawn_app().await;
    let keys = app.store.keys();
    let mut conn = app.redis.raw().await;
    // What an earlier version left: counters, and a stream of movements per SKU.
    let old = |sku: &str| format!("{}:sku:{{{sku}}}:moves", keys.prefix());
    let sku = |s: &str| stockwatch::domain::Sku::parse(s).unwrap();
    for (name, entries) in [
        (
            "old",
            vec![
                ("set", "10", "0", None),
                ("restock", "5", "0", None),
                ("adjust", "-2", "0", Some("damaged")),
            ],
        ),
        ("gone", vec![("set", "1", "0", None)]),
    ] {
        for (i, (kind, quantity, _, reason)) in entries.iter().enumerate() {
            let mut xadd = redis::cmd("XADD");
            xadd.arg(old(name))
                .arg(format!("{}-0", 1000 + i))
                .arg("kind")
                .arg(*kind);
            xadd.arg("ref")
                .arg("admin")
                .arg("quantity")
                .arg(*quantity)
                .arg("at")
                .arg(1000 + i);
            if let Some(reason) = reason {
                xadd.arg("reason").arg(*reason);
            }
            xadd.exec_async(&mut conn).await.unwrap();
        }
    }
    redis::cmd("HSET")
        .arg(keys.stock(&sku("old")))
        .arg(&[("available", 13), ("reserved", 0), ("sold", 0), ("received", 13)])
        .exec_async(&mut conn)
        .await
        .unwrap();
    redis::cmd("DEL")
        .arg(keys.history_upgraded())
        .exec_async(&mut conn)
        .await
        .unwrap();
    // A newer process already sold one unit: its movement is newer than the stream's.
    let (status, _) = app
        .post("/v1/purchases", json!({"sku": "old", "quantity": 1, "user_id": "u"}))
        .await;
    assert_eq!(status, 201);

    let converted = stockwatch::ops::history_upgrade::upgrade(&app.store).await.unwrap();
    assert_eq!(
        converted, 3,
        "the stream of a SKU that is gone is dropped, not converted"
    );
    let (_, body) = app.get("/v1/skus/old/movements").await;
    let got: Vec<(String, i64)> = body["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap().to_owned(), m["quantity"].as_i64().unwrap()))
        .collect();
    let want = [("purchase", 1), ("adjust", -2), ("restock", 5), ("set", 10)];
    assert_eq!(got, want.map(|(k, q)| (k.to_owned(), q)));
    assert_eq!(body["movements"][1]["reason"], "damaged");
    assert_eq!(
        body["movements"][0]["id"].as_str().unwrap().rsplit('-').next(),
        Some("4")
    );
    for name in ["old", "gone"] {
        let left: bool = redis::cmd("EXISTS")
            .arg(old(name))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(!left, "{name}: the stream is gone");
    }
    let report = app.verify().await;
    assert!(
        report.ok,
        "the converted history adds up to the received counter: {report:?}"
    );
    assert_eq!(
        stockwatch::ops::history_upgrade::upgrade(&app.store).await.unwrap(),
        0,
        "once"
    );
}
