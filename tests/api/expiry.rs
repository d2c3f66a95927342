//! The expiry worker: lapsed holds are released once, whoever races for them, and a
//! backlog survives a killed worker.

use crate::helpers::{AppOptions, TestApp, eventually, spawn_app_with};
use futures_util::StreamExt;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use stockwatch::domain::{CartItems, Quantity, ReservationId, Sku, Strategy, TtlSeconds, UserId};
use stockwatch::expiry::{self, ExpiryConfig};
use stockwatch::ops::Inventory;
use stockwatch::ops::{self, Expired};
use stockwatch::{Error, Store};

async fn app_without_worker() -> TestApp {
    spawn_app_with(
        AppOptions {
            expiry: None,
            ..AppOptions::default()
        },
        |_| {},
    )
    .await
}

/// Makes `n` one-unit holds of `sku` through the library, 64 at a time.
async fn hold(store: &Inventory, sku: &str, n: usize, ttl: u64) -> Vec<ReservationId> {
    let items = CartItems::single(Sku::parse(sku).unwrap(), Quantity::parse(&json!(1), "q").unwrap());
    let ttl = TtlSeconds::parse(Some(&json!(ttl))).unwrap();
    let user = UserId::parse(&json!("holder")).unwrap();
    futures_util::stream::iter(0..n)
        .map(|_| ops::reserve(store, Strategy::Lua, &items, &user, ttl, None))
        .buffer_unordered(64)
        .map(|r| r.expect("hold placed").reservation_id)
        .collect()
        .await
}

/// How many movements of each kind each reference has on `sku`.
async fn movements_by_ref(app: &TestApp, sku: &str) -> HashMap<(String, String), usize> {
    let mut conn = app.redis.raw().await;
    let key = app.store.keys().movements(&Sku::parse(sku).unwrap());
    let entries: Vec<String> = redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut out = HashMap::new();
    for e in entries {
        // `KIND QUANTITY REF AT …`, as the history stores a movement.
        let parts: Vec<&str> = e.split(' ').collect();
        *out.entry((parts[2].to_owned(), parts[0].to_owned())).or_default() += 1;
    }
    out
}

/// Holds in every slot's expiry index.
async fn index_len(app: &TestApp) -> usize {
    let mut conn = app.redis.raw().await;
    let keys = app.store.keys();
    let slots: Vec<u16> = redis::cmd("SMEMBERS")
        .arg(keys.expiry_slots())
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut total = 0;
    for slot in slots {
        let n: usize = redis::cmd("ZCARD")
            .arg(keys.expiry(slot))
            .query_async(&mut conn)
            .await
            .unwrap();
        total += n;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_process_worker_releases_lapsed_holds() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    app.set_stock("sock", 150).await;
    let ids = hold(&app.store, "sock", 100, 1).await;
    let deadline = ids.len();
    assert_eq!(app.stock("sock").await["reserved"], 100);
    let released = eventually(Duration::from_secs(15), async || index_len(&app).await == 0).await;
    assert!(released, "every lapsed hold leaves the index");
    assert_eq!(
        app.totals("sock").await,
        json!({"sku": "sock", "available": 150, "reserved": 0, "sold": 0})
    );
    let moves = movements_by_ref(&app, "sock").await;
    let mut worst_lag = 0;
    for id in &ids {
        let (_, body) = app.get(&format!("/v1/reservations/{id}")).await;
        assert_eq!(body["status"], "expired");
        assert_eq!(
            moves.get(&(id.to_string(), "expire".into())),
            Some(&1),
            "released exactly once"
        );
        let mut conn = app.redis.raw().await;
        let (ended, expires): (i64, i64) = redis::cmd("HMGET")
            .arg(app.store.keys().reservation(id))
            .arg("ended_at")
            .arg("expires_at")
            .query_async(&mut conn)
            .await
            .unwrap();
        worst_lag = worst_lag.max(ended - expires);
    }
    println!("{deadline} holds released; worst lag behind deadline {worst_lag} ms");
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sooner_hold_wakes_a_sleeping_worker() {
    // A poll interval far longer than the test: only the in-process wake-up can release it.
    let app = spawn_app_with(
        AppOptions {
            expiry: Some(ExpiryConfig {
                poll: Duration::from_secs(3600),
                ..ExpiryConfig::default()
            }),
            ..AppOptions::default()
        },
        |_| {},
    )
    .await;
    app.set_stock("a", 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await; // the worker is asleep on an empty index
    let held = app.reserve("watch", &[("a", 1)], 1).await;
    let released = eventually(Duration::from_secs(20), async || index_len(&app).await == 0).await;
    assert!(
        released,
        "the worker woke for the new deadline instead of sleeping an hour"
    );
    let (_, body) = app
        .get(&format!(
            "/v1/reservations/{}",
            held["reservation_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(body["status"], "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirms_racing_the_worker_end_each_hold_once() {
    let app = app_without_worker().await;
    app.set_stock("gpu", 1000).await;
    // Three waves 150 ms apart, so deadlines straddle the moment the confirms fire.
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.extend(hold(&app.store, "gpu", 200, 1).await);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let resv = |id: &ReservationId| app.store.keys().reservation(id);
    let mut conn = app.redis.raw().await;
    let first: i64 = redis::cmd("HGET")
        .arg(resv(&ids[0]))
        .arg("expires_at")
        .query_async(&mut conn)
        .await
        .unwrap();
    tokio::time::sleep_until(
        tokio::time::Instant::now() + Duration::from_millis((first - ops::now_ms()).max(0) as u64 + 100),
    )
    .await;

    // Two sweepers and one confirm per hold, all at once.
    let sweepers: Vec<_> = (0..2)
        .map(|_| {
            let store = app.store.clone();
            tokio::spawn(async move {
                let mut released = 0;
                let until = tokio::time::Instant::now() + Duration::from_secs(4);
                while tokio::time::Instant::now() < until {
                    released += expiry::sweep(&store, &ExpiryConfig::default()).await.unwrap().released;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                released
            })
        })
        .collect();
    let confirms: Vec<Result<ops::Confirmed, Error>> = futures_util::stream::iter(ids.clone())
        .map(|id| {
            let store = app.store.clone();
            async move { ops::confirm(&store, &id, None).await }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    let mut released = 0;
    for s in sweepers {
        released += s.await.unwrap();
    }
    let confirmed = confirms.iter().filter(|r| r.is_ok()).count();
    for r in &confirms {
        if let Err(e) = r {
            assert!(
                matches!(e, Error::ReservationNotActive { status } if status.as_str() == "expired"),
                "a confirm that lost may only lose to expiry: {e:?}"
            );
        }
    }
    println!("{confirmed} confirmed, {released} released by the sweepers");
    assert_eq!(confirmed + released, ids.len(), "every hold ended exactly once");
    let moves = movements_by_ref(&app, "gpu").await;
    for id in &ids {
        let c = moves.get(&(id.to_string(), "confirm".into())).copied().unwrap_or(0);
        let x = moves.get(&(id.to_string(), "expire".into())).copied().unwrap_or(0);
        assert_eq!(c + x, 1, "{id}: one ending, once");
    }
    let stock = app.stock("gpu").await;
    assert_eq!(
        stock["sold"].as_u64().unwrap() as usize,
        confirmed,
        "sold equals the confirms"
    );
    assert_eq!(stock["reserved"], 0);
    assert_eq!(stock["available"].as_u64().unwrap() as usize, 1000 - confirmed);
    assert_eq!(app.units_in_orders("gpu").await as usize, confirmed);
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_release_each_hold_once() {
    let app = app_without_worker().await;
    app.set_stock("pen", 500).await;
    let ids = hold(&app.store, "pen", 500, 1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Three stores: three processes' worth of connections, one prefix.
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let store = Inventory::new(Store::new(&app.redis.url(), app.store.config().clone()).unwrap());
            let config = ExpiryConfig {
                batch: 50,
                concurrency: 8,
                ..ExpiryConfig::default()
            };
            tokio::spawn(async move {
                let mut total = 0;
                loop {
                    let s = expiry::sweep(&store, &config).await.unwrap();
                    total += s.released;
                    if s.released + s.cleaned + s.failed == 0 {
                        return total;
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(total, ids.len(), "released once each across the three workers");
    let moves = movements_by_ref(&app, "pen").await;
    assert!(
        ids.iter()
            .all(|id| moves.get(&(id.to_string(), "expire".into())) == Some(&1))
    );
    assert_eq!(
        app.totals("pen").await,
        json!({"sku": "pen", "available": 500, "reserved": 0, "sold": 0})
    );
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_leaves_a_backlog_the_next_one_drains() {
    let app = app_without_worker().await;
    app.set_stock("hat", 5000).await;
    let ids = hold(&app.store, "hat", 5000, 1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let spawn_worker = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
            .args(["expiry-worker", "--key-prefix", app.store.keys().prefix()])
            .args(["--expiry-batch", "100", "--expiry-concurrency", "4"])
            .env("REDIS_URL", app.redis.url())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("worker starts")
    };
    let mut first = spawn_worker();
    let started = eventually(Duration::from_secs(20), async || index_len(&app).await < 5000).await;
    assert!(started, "the worker began releasing");
    first.kill().unwrap(); // SIGKILL: no chance to finish its batch
    first.wait().unwrap();
    let left = index_len(&app).await;
    assert!(left > 0, "killed before the backlog was gone ({left} left)");
    let reserved = app.stock("hat").await["reserved"].as_u64().unwrap() as usize;
    assert_eq!(
        reserved, left,
        "everything released left the index in the same transaction"
    );

    let mut second = spawn_worker();
    let drained = eventually(Duration::from_secs(30), async || index_len(&app).await == 0).await;
    let _ = second.kill();
    second.wait().unwrap();
    assert!(drained, "the next worker drains the backlog on start");
    let moves = movements_by_ref(&app, "hat").await;
    assert!(
        ids.iter()
            .all(|id| moves.get(&(id.to_string(), "expire".into())) == Some(&1)),
        "each released once"
    );
    assert_eq!(
        app.totals("hat").await,
        json!({"sku": "hat", "available": 5000, "reserved": 0, "sold": 0})
    );
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_stops_on_shutdown_and_expire_is_a_no_op_when_not_due() {
    let app = app_without_worker().await;
    app.set_stock("a", 2).await;
    let held = hold(&app.store, "a", 1, 60).await;
    assert_eq!(ops::expire(&app.store, &held[0]).await.unwrap(), Expired::NotDue);
    assert_eq!(app.stock("a").await["reserved"], 1, "a hold not yet due is left alone");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(expiry::run(app.store.clone(), ExpiryConfig::default(), async move {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker returns promptly on shutdown")
        .unwrap();
}
