//! Alerts: exactly one per crossing under a rush, on every transactional path; where they
//! go (the list, the event feed, signed webhooks through a real local receiver, with
//! retries, dead letters and replay); and what webhooks may never reach.

use crate::helpers::{AppOptions, TestApp, spawn_app_with};
use crate::receiver::Receiver;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;
use stockwatch::domain::{Quantity, Sku, Strategy, UserId};
use stockwatch::ops::Inventory;
use stockwatch::webhooks::WebhookConfig;

async fn app_with(webhooks: WebhookConfig, tweak: impl FnOnce(&mut stockwatch::StoreConfig)) -> TestApp {
    spawn_app_with(
        AppOptions {
            webhooks,
            ..AppOptions::default()
        },
        tweak,
    )
    .await
}

async fn put_rules(app: &TestApp, sku: &str, rules: Value) -> (u16, Value) {
    app.send(Method::PUT, &format!("/v1/skus/{sku}/alerts"), Some(rules))
        .await
}

/// The SKU's stock alerts (all but `contention`, which a textbook rush also raises),
/// oldest first, as `(type, available)`.
async fn stock_alerts_of(app: &TestApp, sku: &str) -> Vec<(String, i64)> {
    let mut all = alerts_of(app, sku).await;
    all.retain(|(kind, _)| kind != "contention");
    all
}

/// The SKU's alerts, oldest first, as `(type, available)`.
async fn alerts_of(app: &TestApp, sku: &str) -> Vec<(String, i64)> {
    let (status, body) = app.get(&format!("/v1/alerts?sku={sku}&limit=1000")).await;
    assert_eq!(status, 200, "{body}");
    let mut list: Vec<(String, i64)> = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["type"].as_str().unwrap().to_owned(), a["available"].as_i64().unwrap()))
        .collect();
    list.reverse();
    list
}

/// 1,000 buyers of one unit each race for 500 units, through the library on `strategy`
/// (textbook WATCH buyers told `contention` try again): every buyer ends sold or refused.
async fn rush(app: &TestApp, store: &Inventory, strategy: Strategy, sku: &str, rules: bool) {
    app.set_stock(sku, 500).await;
    if rules {
        let (status, body) = put_rules(
            app,
            sku,
            json!({"low_stock_threshold": 100, "reorder_point": 50, "reorder_quantity": 300}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let (store, sku) = (store.clone(), Sku::parse(sku).unwrap());
            tokio::spawn(async move {
                let user = UserId::parse(&json!(format!("u{i}"))).unwrap();
                let one = Quantity::parse(&json!(1), "q").unwrap();
                loop {
                    match stockwatch::ops::purchase(&store, strategy, &sku, one, &user, None).await {
                        Err(stockwatch::Error::Contention { .. }) => {
                            tokio::time::sleep(Duration::from_millis(rand::random_range(1..20))).await
                        }
                        other => return other.is_ok(),
                    }
                }
            })
        })
        .collect();
    let mut sold = 0;
    for t in tasks {
        sold += usize::from(t.await.unwrap());
    }
    assert_eq!(sold, 500, "{strategy:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rush_of_a_thousand_raises_exactly_one_alert_per_crossing() {
    let app = app_with(WebhookConfig::default(), |_| {}).await;
    let textbook = app.store.with_batching(false);
    let paths = [
        (app.store.clone(), Strategy::Watch, "grouped"),
        (textbook, Strategy::Watch, "textbook"),
        (app.store.clone(), Strategy::Lua, "lua"),
    ];
    for (store, strategy, sku) in paths {
        rush(&app, &store, strategy, sku, true).await;
        assert_eq!(
            stock_alerts_of(&app, sku).await,
            [
                ("low_stock".to_owned(), 99),
                ("reorder".to_owned(), 49),
                ("out_of_stock".to_owned(), 0)
            ],
            "{sku}: one of each crossing, each at the level its change left"
        );
        // A restock crosses back up once; a second one crosses nothing.
        for _ in 0..2 {
            let (status, _) = app
                .post(&format!("/v1/skus/{sku}/restock"), json!({"quantity": 150}))
                .await;
            assert_eq!(status, 200);
        }
        let last = stock_alerts_of(&app, sku).await.pop().unwrap();
        assert_eq!(last, ("back_in_stock".to_owned(), 150), "{sku}");
        assert_eq!(stock_alerts_of(&app, sku).await.len(), 4, "{sku}");
    }
    let (_, body) = app.get("/v1/alerts?sku=lua&limit=10").await;
    let reorder = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "reorder")
        .unwrap()
        .clone();
    assert_eq!(
        (reorder["threshold"].as_i64(), reorder["quantity"].as_i64()),
        (Some(50), Some(300))
    );
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_that_lapse_or_are_cancelled_cross_back_and_the_feed_carries_alerts() {
    let app = app_with(WebhookConfig::default(), |_| {}).await;
    app.set_stock("h", 10).await;
    put_rules(&app, "h", json!({"low_stock_threshold": 5})).await;
    let mut stream = app.client.get(app.url("/v1/events")).send().await.unwrap();
    let held = app.reserve("watch", &[("h", 6)], 60).await;
    let id = held["reservation_id"].as_str().unwrap();
    let (status, _) = app.post(&format!("/v1/reservations/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        alerts_of(&app, "h").await,
        [("low_stock".to_owned(), 4), ("back_in_stock".to_owned(), 10)]
    );
    // Both arrive on the event feed as `event: alert`.
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while text.matches("event: alert").count() < 2 {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("alerts on the feed in time");
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap()));
    }
    assert!(
        text.contains("\"type\":\"low_stock\"") && text.contains("\"type\":\"back_in_stock\""),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_low_stock_list_is_lowest_first_in_total_or_per_location() {
    let app = app_with(WebhookConfig::default(), |_| {}).await;
    for (sku, available, threshold) in [("a", 3, 5), ("b", 1, 5), ("c", 9, 5), ("d", 4, 4)] {
        app.set_stock(sku, available).await;
        assert_eq!(
            put_rules(&app, sku, json!({"low_stock_threshold": threshold})).await.0,
            200
        );
    }
    app.set_stock("no-rules", 0).await;
    let (_, body) = app.get("/v1/alerts/low-stock").await;
    let skus: Vec<(&str, i64)> = body["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["sku"].as_str().unwrap(), s["available"].as_i64().unwrap()))
        .collect();
    assert_eq!(skus, [("b", 1), ("a", 3)]);
    let (status, _) = app
        .send(
            Method::PUT,
            "/v1/skus/c/locations/east/stock",
            Some(json!({"available": 2})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.get("/v1/alerts/low-stock?location=east").await;
    assert_eq!(
        body["skus"],
        json!([{"sku": "c", "location": "east", "available": 2, "threshold": 5}])
    );
    let (_, rules) = app.get("/v1/skus/c/alerts").await;
    assert_eq!(rules, json!({"sku": "c", "low_stock_threshold": 5}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_conflicts_on_one_sku_raise_one_contention_alert() {
    let app = app_with(WebhookConfig::default(), |c| {
        c.batching = false;
        c.contention_alert = stockwatch::retry::ContentionAlert {
            rate: 0.2,
            window: Duration::from_secs(60),
            min_attempts: 20,
        };
    })
    .await;
    // As `serve` does at start: from here the alert readers read the listed slots.
    stockwatch::ops::upgrade(&app.store).await;
    rush(&app, &app.store, Strategy::Watch, "hot", false).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let contention = || async {
        alerts_of(&app, "hot")
            .await
            .into_iter()
            .filter(|(t, _)| t == "contention")
            .count()
    };
    while contention().await == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(contention().await, 1, "one crossing, one alert");
    // `hot` has no rules, yet the list of every SKU's alerts (read from the slots of SKUs
    // with alerts) shows its alert too.
    let (_, all) = app.get("/v1/alerts?limit=1000").await;
    let listed = all["alerts"].as_array().unwrap();
    assert!(
        listed.iter().any(|a| a["type"] == "contention" && a["sku"] == "hot"),
        "{all}"
    );
}

fn local_webhooks() -> WebhookConfig {
    WebhookConfig {
        allow_hosts: vec!["127.0.0.1:*".into()],
        retry_for: Duration::from_secs(2),
        timeout: Duration::from_millis(500),
    }
}

const SECRET: &str = "whsec_test_0123456789";

async fn register(app: &TestApp, url: &str, events: Value) -> (u16, Value) {
    app.post("/v1/webhooks", json!({"url": url, "secret": SECRET, "events": events}))
        .await
}

/// Sells `n` units of a fresh SKU with a threshold of 5 out of 6 units: one `low_stock`.
async fn cross_low(app: &TestApp, sku: &str) {
    app.set_stock(sku, 6).await;
    put_rules(app, sku, json!({"low_stock_threshold": 5})).await;
    let (status, _) = app
        .post("/v1/purchases", json!({"sku": sku, "quantity": 2, "user_id": "u"}))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_and_kept_as_dead_letters_to_replay() {
    let app = app_with(local_webhooks(), |_| {}).await;
    // Fails twice, then takes it: one alert, three tries, delivered.
    let flaky = Receiver::start(vec![500, 503, 200]).await;
    let (status, hook) = register(&app, &flaky.url, json!(["low_stock"])).await;
    assert_eq!(status, 201, "{hook}");
    assert!(
        !hook.to_string().contains(SECRET),
        "the secret is never returned: {hook}"
    );
    cross_low(&app, "w1").await;
    flaky.wait_for(3).await;
    let seen = flaky.seen.lock().unwrap().clone();
    let ids: Vec<Value> = flaky.bodies().iter().map(|b| b["id"].clone()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "every retry carries the same id: {ids:?}"
    );
    for (headers, body) in &seen {
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(
            header("x-stockwatch-signature"),
            Some(expected),
            "the receiver checks the signature"
        );
    }
    let delivered = &flaky.bodies()[0];
    assert_eq!(
        (delivered["type"].as_str(), delivered["sku"].as_str()),
        (Some("low_stock"), Some("w1"))
    );
    assert_eq!(
        (delivered["available"].as_i64(), delivered["threshold"].as_i64()),
        (Some(4), Some(5))
    );
    let (_, listed) = app.get("/v1/webhooks").await;
    assert_eq!(listed["webhooks"][0]["url"], flaky.url.as_str());
    assert!(!listed.to_string().contains(SECRET));

    // A receiver that keeps failing: retried for the configured time, then a dead letter.
    let down = Receiver::start(vec![500]).await;
    let (_, hook) = register(&app, &down.url, json!(["low_stock"])).await;
    cross_low(&app, "w2").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let dead = loop {
        let (_, body) = app.get("/v1/webhooks/dead-letters").await;
        let mine: Vec<Value> = body["dead_letters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["webhook_id"] == hook["id"])
            .cloned()
            .collect();
        if !mine.is_empty() {
            break mine;
        }
        assert!(tokio::time::Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead.len(), 1);
    assert!(dead[0]["attempts"].as_u64().unwrap() >= 2, "{dead:?}");
    // What the on-call alert (deploy/prometheus) counts.
    let metrics = app.text("/metrics").await;
    assert!(
        metrics.contains("\nstockwatch_webhook_dead_lettered_total 1\n"),
        "{metrics}"
    );
    let tries = down.seen.lock().unwrap().len();
    // The receiver recovers; a replay sends the same alert once more, and it is gone.
    *down.script.lock().unwrap() = vec![200];
    let id = dead[0]["id"].as_str().unwrap();
    let (status, replayed) = app
        .post(&format!("/v1/webhooks/dead-letters/replay?id={id}"), json!({}))
        .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["delivered"], 1);
    assert_eq!(down.seen.lock().unwrap().len(), tries + 1);
    assert_eq!(down.bodies().last().unwrap()["id"], dead[0]["alert"]["id"]);
    let (_, after) = app.get("/v1/webhooks/dead-letters").await;
    assert!(!after.to_string().contains(id), "{after}");

    // Deleted: no more deliveries to it.
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    assert_eq!(app.send(Method::DELETE, &path, None).await.0, 204);
    assert_eq!(app.send(Method::DELETE, &path, None).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_never_reach_what_they_must_not() {
    let app = app_with(local_webhooks(), |_| {}).await;
    let before = app.dump().await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:9000/hooks",
        "http://[::1]:9000/hooks",
        "ftp://127.0.0.1/hooks",
        "http://user:pw@127.0.0.1:9000/hooks",
        "http://10.0.0.1/hooks",
        "/hooks",
    ] {
        let (status, body) = register(&app, url, json!(["low_stock"])).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{url}: {body}"
        );
    }
    assert_eq!(app.dump().await, before, "nothing registered");
    // Webhooks are off without an allow list.
    let off = app_with(WebhookConfig::default(), |_| {}).await;
    let (status, body) = register(&off, "http://127.0.0.1:9/hooks", json!(["low_stock"])).await;
    assert_eq!(status, 400, "{body}");

    // A receiver that redirects to the metadata service: never followed, a dead letter.
    let redirecting = Receiver::start(vec![302]).await;
    let (status, _) = register(&app, &redirecting.url, json!(["low_stock"])).await;
    assert_eq!(status, 201);
    cross_low(&app, "r").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = app.get("/v1/webhooks/dead-letters").await;
        if let Some(d) = body["dead_letters"].as_array().unwrap().first() {
            assert!(d["error"].as_str().unwrap().contains("302"), "{d}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_alert_and_webhook_input_is_a_4xx_and_changes_nothing() {
    let app = app_with(local_webhooks(), |_| {}).await;
    app.set_stock("s", 5).await;
    let before = app.dump().await;
    let cases: Vec<(Method, &str, Option<Value>, u16)> = vec![
        (Method::PUT, "/v1/skus/s/alerts", Some(json!({})), 400),
        (
            Method::PUT,
            "/v1/skus/s/alerts",
            Some(json!({"low_stock_threshold": -1})),
            400,
        ),
        (
            Method::PUT,
            "/v1/skus/s/alerts",
            Some(json!({"low_stock_threshold": "5"})),
            400,
        ),
        (
            Method::PUT,
            "/v1/skus/s/alerts",
            Some(json!({"low_stock_threshold": 5, "reorder_point": 2})),
            400,
        ),
        (
            Method::PUT,
            "/v1/skus/s/alerts",
            Some(json!({"low_stock_threshold": 5, "reorder_point": 2, "reorder_quantity": 0})),
            400,
        ),
        (
            Method::PUT,
            "/v1/skus/nope/alerts",
            Some(json!({"low_stock_threshold": 5})),
            404,
        ),
        (Method::GET, "/v1/skus/nope/alerts", None, 404),
        (Method::GET, "/v1/alerts?limit=0", None, 400),
        (Method::GET, "/v1/alerts?sku=a:b", None, 400),
        (Method::GET, "/v1/alerts/low-stock?location=a@b", None, 400),
        (
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/h", "secret": "short", "events": ["low_stock"]})),
            400,
        ),
        (
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/h", "secret": SECRET, "events": []})),
            400,
        ),
        (
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/h", "secret": SECRET, "events": ["sold"]})),
            400,
        ),
        (
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": 5, "secret": SECRET, "events": ["low_stock"]})),
            400,
        ),
        (
            Method::POST,
            "/v1/webhooks",
            Some(json!({"secret": SECRET, "events": ["low_stock"]})),
            400,
        ),
        (Method::DELETE, "/v1/webhooks/nope", None, 404),
        (Method::PATCH, "/v1/webhooks", None, 405),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = app.send(method.clone(), path, body.clone()).await;
        assert_eq!(status, expected, "{method} {path} {body:?}: {answer}");
    }
    assert_eq!(app.dump().await, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_a_dead_sender_left_pending_is_claimed_and_delivered() {
    // Webhooks off in this app: no sender runs while the scene is set.
    let app = app_with(WebhookConfig::default(), |_| {}).await;
    let receiver = Receiver::start(vec![200]).await;
    let config = local_webhooks();
    let hook = stockwatch::webhooks::NewWebhook {
        url: stockwatch::webhooks::guard::check_url(&config, &receiver.url).unwrap(),
        secret: SECRET.into(),
        events: vec![stockwatch::domain::AlertKind::LowStock],
    };
    stockwatch::webhooks::create(&app.store, hook).await.unwrap();
    cross_low(&app, "orphan").await;
    // A sender that read the alert and died before delivering it: pending, never acked.
    let stream = app.store.keys().alerts(0);
    let mut raw = app.redis.raw().await;
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", &stream, "webhooks", "0", "MKSTREAM"])
        .query_async(&mut raw)
        .await
        .unwrap();
    let read: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP",
            "webhooks",
            "dead-sender",
            "COUNT",
            "10",
            "STREAMS",
            &stream,
            ">",
        ])
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(read.keys[0].ids.len(), 1, "the dead sender holds the alert");

    // A live sender on the same Redis and prefix claims it once it has been idle longer
    // than any delivery could take (retry_for + 2 × timeout = 3 s here), and delivers it.
    let store = Inventory::new(
        stockwatch::Store::new(
            &app.redis.url(),
            stockwatch::StoreConfig {
                key_prefix: app.store.keys().prefix().to_owned(),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let (stop, _) = tokio::sync::broadcast::channel(1);
    let sender = tokio::spawn(stockwatch::webhooks::sender::run(store, config, stop.subscribe()));
    receiver.wait_for(1).await;
    assert_eq!(receiver.bodies()[0]["sku"], "orphan");
    // Acknowledged once delivered: nothing stays pending.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pending: redis::Value = redis::cmd("XPENDING")
            .arg(&[&stream, "webhooks"])
            .query_async(&mut raw)
            .await
            .unwrap();
        let redis::Value::Array(summary) = pending else {
            panic!("{pending:?}")
        };
        if summary[0] == redis::Value::Int(0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still pending: {summary:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    sender.await.unwrap();
    assert_eq!(receiver.seen.lock().unwrap().len(), 1, "delivered once");
}

/// Dead letters: a replay makes one POST per letter (not the whole retry schedule), refuses
/// unknown parameters, answers 404 for an unknown letter; letters can be deleted, and
/// deleting a webhook takes its letters with it and stops its deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_replay_is_bounded_and_letters_can_be_removed() {
    let config = WebhookConfig {
        retry_for: Duration::from_millis(600),
        ..local_webhooks()
    };
    let app = app_with(config, |_| {}).await;
    let down = Receiver::start(vec![500]).await;
    let (_, hook) = register(&app, &down.url, json!(["low_stock"])).await;
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    for sku in ["d1", "d2"] {
        cross_low(&app, sku).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let dead = loop {
        let (_, body) = app.get("/v1/webhooks/dead-letters").await;
        let letters = body["dead_letters"].as_array().unwrap().clone();
        if letters.len() == 2 {
            break letters;
        }
        assert!(tokio::time::Instant::now() < deadline, "no dead letters: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let (status, body) = app.post("/v1/webhooks/dead-letters/replay?foo=1", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let (status, body) = app.post("/v1/webhooks/dead-letters/replay?id=nope", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_dead_letter")),
        "{body}"
    );
    let (status, _) = app
        .send(
            Method::POST,
            "/v1/webhooks/dead-letters/replay",
            Some(json!({"id": "x"})),
        )
        .await;
    assert_eq!(status, 400, "a body where none is expected");

    // Still failing: each letter is tried exactly once more, and kept.
    let tries = down.seen.lock().unwrap().len();
    let (status, replayed) = app.post("/v1/webhooks/dead-letters/replay", json!({})).await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(
        (replayed["delivered"].as_u64(), replayed["failed"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(replayed["remaining"], 2);
    assert_eq!(down.seen.lock().unwrap().len(), tries + 2, "one POST per letter");
    let (_, body) = app.get("/v1/webhooks/dead-letters").await;
    for letter in body["dead_letters"].as_array().unwrap() {
        let before = dead.iter().find(|d| d["id"] == letter["id"]).unwrap();
        assert_eq!(letter["attempts"].as_u64(), before["attempts"].as_u64().map(|a| a + 1));
    }

    // One letter deleted by hand; the other goes with its webhook.
    let one = dead[0]["id"].as_str().unwrap();
    let path = format!("/v1/webhooks/dead-letters/{one}");
    assert_eq!(app.send(Method::DELETE, &path, None).await.0, 204);
    assert_eq!(app.send(Method::DELETE, &path, None).await.0, 404);
    let (_, body) = app.get("/v1/webhooks/dead-letters").await;
    assert_eq!(body["dead_letters"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.send(Method::DELETE, &format!("/v1/webhooks/{hook_id}"), None)
            .await
            .0,
        204
    );
    let (_, body) = app.get("/v1/webhooks/dead-letters").await;
    assert_eq!(
        body["dead_letters"],
        json!([]),
        "a deleted webhook's letters go with it"
    );

    // A delivery under way stops at its next try once its webhook is deleted.
    let config = WebhookConfig {
        retry_for: Duration::from_secs(30),
        ..local_webhooks()
    };
    let app = app_with(config, |_| {}).await;
    let slow = Receiver::start(vec![500]).await;
    let (_, hook) = register(&app, &slow.url, json!(["low_stock"])).await;
    cross_low(&app, "d3").await;
    slow.wait_for(2).await;
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    assert_eq!(app.send(Method::DELETE, &path, None).await.0, 204);
    // At most the try already in flight lands after the delete; then nothing for a while
    // longer than the backoff's next few delays.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = slow.seen.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(slow.seen.lock().unwrap().len(), settled, "no delivery after the delete");
    let (_, body) = app.get("/v1/webhooks/dead-letters").await;
    assert_eq!(body["dead_letters"], json!([]), "and no dead letter for it");
}
