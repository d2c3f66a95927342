//! Idempotency-Key: one effect and one answer per key, even when repeats race each other
//! or the first reply was lost on the wire.

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::proxy::FaultProxy;
use futures_util::future::join_all;
use serde_json::{Value, json};
use stockwatch::ops::Inventory;

/// Fires `n` identical keyed requests at once; returns every (status, body text).
async fn repeat(app: &TestApp, n: usize, path: &str, body: Value, key: &str) -> Vec<(u16, String)> {
    join_all((0..n).map(|_| app.post_keyed(path, body.clone(), key))).await
}

async fn racing_repeats_make_one_purchase(tweak: fn(&mut stockwatch::StoreConfig), strategy: &str) {
    let app = spawn_app_with(Default::default(), tweak).await;
    app.set_stock("tv", 100).await;
    let path = format!("/v1/purchases?strategy={strategy}");
    let answers = repeat(
        &app,
        50,
        &path,
        json!({"sku": "tv", "quantity": 2, "user_id": "u"}),
        "pay-1",
    )
    .await;
    let first = &answers[0];
    assert_eq!(first.0, 201, "{}", first.1);
    assert!(
        answers.iter().all(|a| a == first),
        "{strategy}: every repeat gets the first answer"
    );
    assert_eq!(app.stock("tv").await["available"], 98, "{strategy}: one effect");
    assert_eq!(app.units_in_orders("tv").await, 2);
    // A new key is a new purchase.
    let (status, _) = app
        .post_keyed(&path, json!({"sku": "tv", "quantity": 2, "user_id": "u"}), "pay-2")
        .await;
    assert_eq!(status, 201);
    assert_eq!(app.stock("tv").await["available"], 96);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_racing_repeats_one_purchase_watch_batched() {
    racing_repeats_make_one_purchase(|_| {}, "watch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_racing_repeats_one_purchase_watch_unbatched() {
    racing_repeats_make_one_purchase(|c| c.batching = false, "watch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_racing_repeats_one_purchase_lua_batched() {
    racing_repeats_make_one_purchase(|_| {}, "lua").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_racing_repeats_one_purchase_lua_unbatched() {
    racing_repeats_make_one_purchase(|c| c.batching = false, "lua").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_repeats_of_checkouts_reservations_and_confirms_have_one_effect() {
    let app = spawn_app().await;
    app.set_stock("a", 50).await;
    app.set_stock("b", 50).await;
    let cart = json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 3}]});
    for strategy in ["watch", "lua"] {
        let answers = repeat(
            &app,
            50,
            &format!("/v1/checkouts?strategy={strategy}"),
            cart.clone(),
            strategy,
        )
        .await;
        assert_eq!(answers[0].0, 201, "{}", answers[0].1);
        assert!(answers.iter().all(|a| *a == answers[0]));
    }
    assert_eq!(app.stock("b").await["available"], 44, "two checkouts, one per key");

    let mut held = Vec::new();
    for strategy in ["watch", "lua"] {
        let key = format!("hold-{strategy}");
        let answers = repeat(
            &app,
            50,
            &format!("/v1/reservations?strategy={strategy}"),
            cart.clone(),
            &key,
        )
        .await;
        assert_eq!(answers[0].0, 201, "{}", answers[0].1);
        assert!(answers.iter().all(|a| *a == answers[0]));
        held.push(serde_json::from_str::<Value>(&answers[0].1).unwrap());
    }
    assert_eq!(app.stock("b").await["reserved"], 6, "two holds, one per key");

    let confirm = format!(
        "/v1/reservations/{}/confirm",
        held[0]["reservation_id"].as_str().unwrap()
    );
    let answers = repeat(&app, 50, &confirm, json!({}), "confirm-1").await;
    assert_eq!(answers[0].0, 201, "{}", answers[0].1);
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "repeats get the 201, not a 409 confirmed"
    );
    let cancel = format!(
        "/v1/reservations/{}/cancel",
        held[1]["reservation_id"].as_str().unwrap()
    );
    let answers = repeat(&app, 20, &cancel, json!({}), "cancel-1").await;
    assert_eq!(answers[0].0, 200, "{}", answers[0].1);
    assert!(answers.iter().all(|a| *a == answers[0]));
    let stock = app.stock("b").await;
    assert_eq!((stock["sold"].as_i64(), stock["reserved"].as_i64()), (Some(9), Some(0)));
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_with_a_different_body_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    app.set_stock("a", 10).await;
    for strategy in ["watch", "lua"] {
        let path = format!("/v1/purchases?strategy={strategy}");
        let key = format!("k-{strategy}");
        let (status, _) = app
            .post_keyed(&path, json!({"sku": "a", "quantity": 1, "user_id": "u"}), &key)
            .await;
        assert_eq!(status, 201);
        let before = app.dump().await;
        let (status, body) = app
            .post_keyed(&path, json!({"sku": "a", "quantity": 2, "user_id": "u"}), &key)
            .await;
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (status, body["error"].as_str()),
            (422, Some("idempotency_key_reused")),
            "{strategy}"
        );
        assert_eq!(app.dump().await, before);
    }
    // Key order and spacing are not a different body.
    let path = "/v1/purchases";
    let (s1, b1) = app
        .post_keyed(path, json!({"sku": "a", "quantity": 1, "user_id": "v"}), "same")
        .await;
    let raw = app
        .client
        .post(app.url(path))
        .header("Idempotency-Key", "same")
        .header("Content-Type", "application/json")
        .body(r#"{ "user_id": "v",   "quantity": 1, "sku": "a" }"#)
        .send()
        .await
        .unwrap();
    assert_eq!((raw.status().as_u16(), raw.text().await.unwrap()), (s1, b1));
    // A malformed key is a 400.
    for bad in ["", "has space", &"k".repeat(129)] {
        let (status, _) = app
            .post_keyed(path, json!({"sku": "a", "quantity": 1, "user_id": "v"}), bad)
            .await;
        assert_eq!(status, 400, "{bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_remembered_too() {
    let app = spawn_app().await;
    app.set_stock("a", 1).await;
    for strategy in ["watch", "lua"] {
        let path = format!("/v1/purchases?strategy={strategy}");
        let body = json!({"sku": "a", "quantity": 5, "user_id": "u"});
        let first = app.post_keyed(&path, body.clone(), strategy).await;
        assert_eq!(first.0, 409);
        app.set_stock("a", 10).await;
        assert_eq!(
            app.post_keyed(&path, body, strategy).await,
            first,
            "same status, same body"
        );
        app.set_stock("a", 1).await;
    }
    assert_eq!(app.stock("a").await["sold"], 0);
}

async fn lost_reply(strategy: &str, pattern: &[u8]) {
    let app = spawn_app().await;
    let proxy = FaultProxy::start(&app.redis.url()).await;
    let store = Inventory::new(Store::new(&proxy.url(), app.store.config().clone()).unwrap());
    let settings = stockwatch::startup::HttpSettings {
        bind: "127.0.0.1:0".into(),
        admin_token: None,
        require_keys: false,
        allow_broken: false,
        workers: Some(2),
        lanes: Default::default(),
        otlp_endpoint: None,
        expiry: None,
        ledger_url: None,
        projector: None,
        webhooks: Default::default(),
        admission_secret: None,
    };
    let proxied = stockwatch::startup::Application::build(settings, store).unwrap();
    let base = format!("http://127.0.0.1:{}", proxied.port());
    tokio::spawn(proxied.run_until_stopped(std::future::pending()));
    app.set_stock("a", 5).await;
    let path = format!("{base}/v1/purchases?strategy={strategy}");
    let body = json!({"sku": "a", "quantity": 1, "user_id": "u"});
    let send = |key: &'static str| app.client.post(&path).header("Idempotency-Key", key).json(&body).send();
    // Warm up (loads the script), then lose the reply of the next transaction or script.
    assert_eq!(send("warm-up").await.unwrap().status(), 201);
    proxy.drop_reply_once(pattern);
    let lost = send("pay-once").await.unwrap();
    assert_eq!(
        lost.status(),
        503,
        "the client never heard back: {}",
        lost.text().await.unwrap()
    );
    assert_eq!(proxy.tripped(), 1);
    assert_eq!(
        app.stock("a").await["available"],
        3,
        "the server applied it all the same"
    );
    let retried = send("pay-once").await.unwrap();
    assert_eq!(retried.status(), 201);
    let answer: Value = retried.json().await.unwrap();
    assert_eq!(app.stock("a").await["available"], 3, "the retry had no second effect");
    let (status, order) = app
        .get(&format!("/v1/orders/{}", answer["order_id"].as_str().unwrap()))
        .await;
    assert_eq!(
        status, 200,
        "the retry answers with the order the lost attempt stored: {order}"
    );
    assert_eq!(app.units_in_orders("a").await, 2, "warm-up plus one");
}

use stockwatch::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_exec_reply_then_a_retry_is_one_effect_watch() {
    lost_reply("watch", b"EXEC").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_script_reply_then_a_retry_is_one_effect_lua() {
    lost_reply("lua", b"EVALSHA").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_answers_are_kept_at_least_a_day() {
    let app = spawn_app().await;
    app.set_stock("a", 1).await;
    let (status, _) = app
        .post_keyed(
            "/v1/purchases",
            json!({"sku": "a", "quantity": 1, "user_id": "u"}),
            "kept",
        )
        .await;
    assert_eq!(status, 201);
    let mut conn = app.redis.raw().await;
    let keys = app.store.keys();
    let slot = keys.slot_of_sku(&stockwatch::domain::Sku::parse("a").unwrap());
    // The answer (in the SKU's slot) and the claim of the key's first fingerprint.
    for key in [
        keys.idempotency("purchase", "kept", slot),
        keys.idempotency_claim("purchase", "kept"),
    ] {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.unwrap();
        assert!(ttl > 23 * 3600 * 1000, "{key}: {ttl}");
    }
}
