//! The fault suite: real redis-server processes killed, frozen, cut off, flushed and starved
//! under HTTP load. Each case names the fault and the outcome it must have; RELIABILITY.md
//! lists them as a matrix.

use crate::helpers::{AppOptions, TestApp, TestRedis, eventually, kill, schedule_entry, spawn_app_on, spawn_app_with};
use crate::proxy::FaultProxy;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use stockwatch::managed::redis_server::{ManagedRedis, Persistence};
use stockwatch::ops::Inventory;
use stockwatch::startup::{Application, HttpSettings};
use stockwatch::{Store, StoreConfig};

/// One purchase attempt's answer: status and body (status 0: the request itself failed).
async fn buy(app: &TestApp, sku: &str, strategy: &str, user: usize, key: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/v1/purchases?strategy={strategy}")))
        .json(&json!({"sku": sku, "quantity": 1, "user_id": format!("buyer-{user}")}));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    match request.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// `n` buyers, `in_flight` at a time; each answer.
async fn rush(app: &TestApp, sku: &str, strategy: &str, n: usize, in_flight: usize) -> Vec<(u16, Value)> {
    futures_util::stream::iter(0..n)
        .map(|i| buy(app, sku, strategy, i, None))
        .buffer_unordered(in_flight)
        .collect()
        .await
}

/// Like [`rush`], but every buyer has an Idempotency-Key and retries a `503` or a failed
/// request until it gets a final answer, as a careful client would.
async fn careful_rush(app: &TestApp, sku: &str, strategy: &str, n: usize, in_flight: usize) -> Vec<(u16, Value)> {
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let key = format!("careful-{sku}-{i}");
            // Bounded by time, not tries: on a loaded machine a connection killer can beat
            // a hundred tries in a row without anything being wrong.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while tokio::time::Instant::now() < deadline {
                let (status, body) = buy(app, sku, strategy, i, Some(&key)).await;
                if status != 0 && status != 503 {
                    return (status, body);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("buyer {i} never got a final answer");
        })
        .buffer_unordered(in_flight)
        .collect()
        .await
}

fn count(answers: &[(u16, Value)], status: u16) -> usize {
    answers.iter().filter(|(s, _)| *s == status).count()
}

async fn wait_ready(app: &TestApp) {
    for _ in 0..200 {
        if app.get("/readyz").await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/readyz never came back");
}

/// Invariants after a fault: verify passes, stock is conserved, and exactly the
/// acknowledged orders exist, plus any whose reply was lost (never fewer).
async fn assert_nothing_lost(app: &TestApp, sku: &str, stock: i64, answers: &[(u16, Value)]) {
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
    let s = app.stock(sku).await;
    let (available, sold) = (s["available"].as_i64().unwrap(), s["sold"].as_i64().unwrap());
    assert_eq!(available + sold, stock, "stock conserved: {s}");
    assert!(available >= 0, "never oversold: {s}");
    let acked: Vec<&str> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, b)| b["order_id"].as_str().unwrap())
        .collect();
    assert!(sold >= acked.len() as i64, "sold {sold} < acknowledged {}", acked.len());
    for id in acked {
        let (status, order) = app.get(&format!("/v1/orders/{id}")).await;
        assert_eq!(status, 200, "acknowledged order {id} is gone");
        assert_eq!(order["items"][0]["sku"], sku);
    }
}

/// Fault: redis-server is SIGKILLed in the middle of a rush, then restarted on the same
/// AOF (`appendfsync always`). Expected: every order answered 201 is there afterwards,
/// stock is conserved, verify passes, and the service recovers without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_rush_loses_no_acknowledged_order() {
    let redis = TestRedis::start_with(Persistence::Always).await;
    let app = spawn_app_on(redis, AppOptions::default(), |c| {
        c.response_timeout = Duration::from_millis(800)
    })
    .await;
    let mut running: Option<ManagedRedis> = None;
    for strategy in ["watch", "lua"] {
        let sku = format!("crash-{strategy}");
        app.set_stock(&sku, 400).await;
        let pid = running
            .as_ref()
            .map_or_else(|| app.redis.server.pid(), ManagedRedis::pid)
            .unwrap();
        let crash = async {
            tokio::time::sleep(Duration::from_millis(80)).await;
            kill(pid, "KILL");
            tokio::time::sleep(Duration::from_millis(300)).await;
            app.redis.restart().await
        };
        let (answers, server) = tokio::join!(rush(&app, &sku, strategy, 800, 40), crash);
        running = Some(server);
        let failed = answers.iter().filter(|(s, _)| *s == 503).count();
        assert!(
            count(&answers, 201) > 0 && failed > 0,
            "{strategy}: the crash hit mid-rush"
        );
        assert!(
            answers.iter().all(|(s, _)| matches!(s, 201 | 409 | 503)),
            "{strategy}: only 201, 409 or 503, never a 500 or a hang"
        );
        wait_ready(&app).await;
        assert_nothing_lost(&app, &sku, 400, &answers).await;
        // Recovered in place: the same service keeps selling.
        let restock = app
            .post(&format!("/v1/skus/{sku}/restock"), json!({"quantity": 1}))
            .await;
        assert_eq!(restock.0, 200);
        assert_eq!(buy(&app, &sku, strategy, 9999, None).await.0, 201);
    }
}

/// Fault: redis-server frozen with SIGSTOP (connections stay open; nothing answers).
/// Expected: every request gets `503 redis_unavailable` within the response timeout, no
/// hang; `/readyz` is 503; nothing queues up behind the freeze; after SIGCONT all works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_gives_bounded_503s_and_then_recovers() {
    let timeout = Duration::from_millis(400);
    let app = spawn_app_with(AppOptions::default(), |c| c.response_timeout = timeout).await;
    app.set_stock("frozen", 50).await;
    let pid = app.redis.server.pid().unwrap();
    kill(pid, "STOP");
    let started = Instant::now();
    let answers: Vec<(u16, Value, Duration)> = futures_util::stream::iter(0..120)
        .map(|i| {
            let app = &app;
            async move {
                let t = Instant::now();
                let strategy = ["watch", "lua", "broken"][i % 3];
                let (s, b) = buy(app, "frozen", strategy, i, None).await;
                (s, b, t.elapsed())
            }
        })
        .buffer_unordered(120)
        .collect()
        .await;
    let (ready, _) = app.get("/readyz").await;
    kill(pid, "CONT");
    for (status, body, took) in &answers {
        assert_eq!((*status, body["error"].as_str()), (503, Some("redis_unavailable")));
        // A bound, not a speed check: the timeout plus scheduling slack, never a hang.
        assert!(*took < timeout * 5, "answered after {took:?}");
    }
    assert!(
        started.elapsed() < timeout * 12,
        "the 120 answers did not queue behind each other"
    );
    assert_eq!(ready, 503);
    wait_ready(&app).await;
    let metrics = app.text("/metrics").await;
    assert!(
        metrics.contains("stockwatch_pool_waiting 0"),
        "callers still waiting for a connection"
    );
    for strategy in ["watch", "lua"] {
        assert_eq!(buy(&app, "frozen", strategy, 1, None).await.0, 201);
    }
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

/// Fault: Redis is not there when the service starts. Expected: the service starts anyway;
/// `/readyz` is 503 and requests are `503 redis_unavailable`; once Redis is up, `/readyz` is
/// 200 and purchases work, with no restart of the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_comes_good_without_a_restart() {
    let dir = tempfile::Builder::new().prefix("sw-late").tempdir().unwrap();
    let url = format!(
        "redis+unix://{}/redis.sock",
        dir.path().canonicalize().unwrap().display()
    );
    let store = Inventory::new(
        Store::new(
            &url,
            StoreConfig {
                response_timeout: Duration::from_millis(500),
                ..StoreConfig::default()
            },
        )
        .unwrap(),
    );
    let app = Application::build(
        HttpSettings {
            bind: "127.0.0.1:0".into(),
            admin_token: None,
            require_keys: false,
            allow_broken: false,
            workers: Some(1),
            lanes: Default::default(),
            otlp_endpoint: None,
            expiry: Some(Default::default()),
            ledger_url: None,
            projector: None,
            webhooks: Default::default(),
            admission_secret: None,
        },
        store,
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.json::<Value>().await.unwrap()["error"], "redis_unavailable");
    let set_stock = || {
        client
            .put(format!("{base}/v1/skus/late/stock"))
            .json(&json!({"available": 3}))
            .send()
    };
    assert_eq!(set_stock().await.unwrap().status(), 503);

    let _redis = ManagedRedis::start(dir.path(), Persistence::None).await.unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if get("/readyz").await.unwrap().status() == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "/readyz never turned 200");
    assert_eq!(set_stock().await.unwrap().status(), 200);
    for strategy in ["watch", "lua"] {
        let r = client
            .post(format!("{base}/v1/purchases?strategy={strategy}"))
            .json(&json!({"sku": "late", "quantity": 1, "user_id": "u"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{strategy}");
    }
}

/// Fault: every client connection is killed (`CLIENT KILL TYPE normal`) every few
/// milliseconds during a rush; buyers retry 503s with their Idempotency-Key. Expected:
/// sold equals the orders acknowledged, exactly; never oversold; verify passes. A WATCH lost
/// with its connection can never guard an EXEC sent on a new one, because the engine sends
/// WATCH, reads and MULTI/EXEC on one connection that is never reconnected mid-transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_kill_in_a_loop_sells_exactly_what_it_acknowledges() {
    let app = spawn_app_with(AppOptions::default(), |c| {
        c.response_timeout = Duration::from_secs(2);
        c.batching = false;
    })
    .await;
    for strategy in ["watch", "lua"] {
        let sku = format!("killed-{strategy}");
        app.set_stock(&sku, 150).await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let killer = {
            let stop = stop.clone();
            let mut raw = app.redis.raw().await;
            tokio::spawn(async move {
                let mut kills = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let killed: redis::RedisResult<i64> = redis::cmd("CLIENT")
                        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
                        .query_async(&mut raw)
                        .await;
                    kills += killed.unwrap_or(0) as u64;
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
                kills
            })
        };
        let answers = careful_rush(&app, &sku, strategy, 400, 50).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let kills = killer.await.unwrap();
        assert!(
            kills > 10,
            "{strategy}: the killer must actually have killed connections ({kills})"
        );
        let acked = count(&answers, 201) as i64;
        assert_eq!(
            acked + count(&answers, 409) as i64,
            400,
            "{strategy}: every buyer got a final answer"
        );
        let s = app.stock(&sku).await;
        assert_eq!(
            s["sold"].as_i64().unwrap(),
            acked,
            "{strategy}: sold = acknowledged: {s}"
        );
        assert_eq!(acked, 150, "{strategy}: all stock sold, none twice");
        assert_eq!(s["available"], 0);
        assert_nothing_lost(&app, &sku, 150, &answers).await;
    }
}

/// Faults between service and Redis, made by a TCP proxy: replies delayed past the
/// timeout, then every connection reset mid-rush. Expected: bounded 503s while it lasts,
/// no partial state, and normal service once the network is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_then_resetting_network_gives_bounded_errors_and_no_partial_state() {
    let redis = TestRedis::start().await;
    let proxy = FaultProxy::start(&redis.url()).await;
    let store = Inventory::new(
        Store::new(
            &proxy.url(),
            StoreConfig {
                key_prefix: crate::helpers::fresh_prefix(),
                response_timeout: Duration::from_millis(1000),
                ..StoreConfig::default()
            },
        )
        .unwrap(),
    );
    let app = crate::helpers::serve_store(redis, store, AppOptions::default()).await;
    app.set_stock("net", 200).await;

    proxy.delay(Duration::from_millis(1500));
    let t = Instant::now();
    let slow = rush(&app, "net", "watch", 30, 30).await;
    assert!(
        slow.iter().all(|(s, b)| *s == 503 && b["error"] == "redis_unavailable"),
        "{slow:?}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "bounded by the timeout: {:?}",
        t.elapsed()
    );
    proxy.delay(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1600)).await;

    let resets = async {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(30)).await;
            proxy.reset_all();
        }
    };
    let (answers, ()) = tokio::join!(careful_rush(&app, "net", "lua", 150, 30), resets);
    assert!(proxy.resets() > 0, "connections were reset");
    wait_ready(&app).await;
    assert_eq!(count(&answers, 201), 150);
    assert_nothing_lost(&app, "net", 200, &answers).await;
    let answers = rush(&app, "net", "watch", 60, 20).await;
    assert_eq!(
        count(&answers, 201),
        50,
        "the rest sells normally once the network is back"
    );
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

/// Fault: `SCRIPT FLUSH` over and over while buyers use the lua path. Expected: the script
/// is reloaded transparently (NOSCRIPT → EVAL); exactly the stock is sold; no 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_flush_mid_run_reloads_and_continues() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    app.set_stock("flushed", 200).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flusher = {
        let stop = stop.clone();
        let mut raw = app.redis.raw().await;
        tokio::spawn(async move {
            let mut flushes = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _: () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut raw).await.unwrap();
                flushes += 1;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            flushes
        })
    };
    let answers = rush(&app, "flushed", "lua", 500, 50).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(flusher.await.unwrap() > 5);
    assert_eq!(
        count(&answers, 201),
        200,
        "{:?}",
        answers.iter().find(|(s, _)| *s >= 500)
    );
    assert_eq!(count(&answers, 409), 300);
    assert_nothing_lost(&app, "flushed", 200, &answers).await;
}

/// Fault: Redis out of memory (`maxmemory 1`, `noeviction`). Expected: every write is a
/// clear `503 redis_out_of_memory` on every path, nothing is written, and service resumes
/// once memory is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_is_a_clear_503_that_writes_nothing() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    app.set_stock("oom", 10).await;
    let held = app.reserve("watch", &[("oom", 1)], 600).await;
    let mut raw = app.redis.raw().await;
    // The hold's schedule entry is written after its answer: in the snapshot, not after it.
    let (due, slot) = (app.store.keys().expiry_due(), stockwatch::keys::slot_of("oom"));
    let scheduled = held["expires_at"].as_i64();
    let five = Duration::from_secs(5);
    eventually(five, async || schedule_entry(&mut raw, &due, slot).await == scheduled).await;
    assert_eq!(schedule_entry(&mut raw, &due, slot).await, scheduled);
    let before = app.dump().await;
    let set = |value: &'static str| redis::cmd("CONFIG").arg(&["SET", "maxmemory", value]).to_owned();
    let _: () = set("1").query_async(&mut raw).await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory-policy", "noeviction"])
        .query_async(&mut raw)
        .await
        .unwrap();
    let cart = json!({"user_id": "u", "items": [{"sku": "oom", "quantity": 1}]});
    let id = held["reservation_id"].as_str().unwrap();
    let attempts = [
        (
            "/v1/purchases?strategy=watch",
            json!({"sku": "oom", "quantity": 1, "user_id": "u"}),
        ),
        (
            "/v1/purchases?strategy=lua",
            json!({"sku": "oom", "quantity": 1, "user_id": "u"}),
        ),
        ("/v1/checkouts?strategy=watch", cart.clone()),
        ("/v1/checkouts?strategy=lua", cart.clone()),
        ("/v1/reservations?strategy=watch", cart.clone()),
        ("/v1/reservations?strategy=lua", cart),
        (&format!("/v1/reservations/{id}/confirm") as &str, json!({})),
        ("/v1/skus/oom/restock", json!({"quantity": 1})),
    ];
    for (path, body) in &attempts {
        let (status, answer) = app.post(path, body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (503, Some("redis_out_of_memory")),
            "{path}: {answer}"
        );
    }
    assert_eq!(app.dump().await, before, "nothing was written");
    let _: () = set("0").query_async(&mut raw).await.unwrap();
    for (path, body) in &attempts {
        let (status, _) = app.post(path, body.clone()).await;
        assert!(status == 200 || status == 201, "{path} after recovery: {status}");
    }
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

/// Fault: clients hang up while their requests are in flight. Expected: no leaked WATCH
/// (every pooled connection still commits cleanly afterwards), no partial state: each
/// purchase either happened whole (its order exists) or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_hanging_up_mid_request_leave_no_partial_state() {
    let app = spawn_app_with(AppOptions::default(), |c| {
        c.batching = false;
        c.pool_size = 8;
        // Room to retry, so that contention on a starved CI core is not mistaken for a leak.
        c.retry.max_attempts = 100;
        c.retry.max_elapsed = Duration::from_secs(5);
        c.response_timeout = Duration::from_secs(8);
    })
    .await;
    app.set_stock("hangup", 1000).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(3))
        .build()
        .unwrap();
    let url = app.url("/v1/purchases?strategy=watch");
    let dropped: Vec<bool> = futures_util::stream::iter(0..300)
        .map(|i| {
            let request = impatient
                .post(&url)
                .json(&json!({"sku": "hangup", "quantity": 1, "user_id": format!("gone-{i}")}));
            async move { request.send().await.is_err() }
        })
        .buffer_unordered(60)
        .collect()
        .await;
    assert!(dropped.iter().filter(|d| **d).count() > 50, "most clients hung up");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = app.verify().await;
    assert!(report.ok, "every sale is whole: {:?}", report.violations);
    let s = app.stock("hangup").await;
    assert_eq!(s["available"].as_i64().unwrap() + s["sold"].as_i64().unwrap(), 1000);
    assert_eq!(app.units_in_orders("hangup").await, s["sold"].as_i64().unwrap());
    // A leaked WATCH would make a later transaction on its connection abort for nothing;
    // with a pool of 8 and 8-way concurrency, every connection is reused here.
    let sold_before = s["sold"].as_i64().unwrap();
    let answers = rush(&app, "hangup", "watch", 200, 8).await;
    assert_eq!(
        count(&answers, 201),
        200,
        "{:?}",
        answers.iter().find(|(s, _)| *s != 201)
    );
    assert_eq!(app.stock("hangup").await["sold"].as_i64().unwrap(), sold_before + 200);
}
