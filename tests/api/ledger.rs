//! The ledger against a real PostgreSQL (started here, as the `postgres` user) and a real
//! redis-server: drains after mixed rushes, crashes on both sides of COMMIT, two projectors,
//! PostgreSQL down mid-rush, tampering, trimming at its tightest, poison entries, retention.

use crate::helpers::{AppOptions, TestApp, TestRedis, spawn_app_on};
use serde_json::json;
use sqlx::PgPool;
use std::time::Duration;
use stockwatch::Store;
use stockwatch::ledger::{LedgerConfig, LedgerReport};
use stockwatch::managed::postgres::ManagedPostgres;
use stockwatch::ops::Inventory;
use tokio::process::Command;

/// A private PostgreSQL with one database for one test; stopped when dropped.
pub(crate) struct TestBooks {
    pub pg: ManagedPostgres,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestBooks {
    pub(crate) async fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("sw-pg").tempdir().expect("temp dir");
        let path = dir.path().to_owned();
        let (pg, url) = tokio::task::spawn_blocking(move || {
            let pg = ManagedPostgres::start(&path, None).expect("postgres starts");
            let url = pg.create_database("books").expect("database");
            (pg, url)
        })
        .await
        .expect("postgres task");
        Self { pg, url, _dir: dir }
    }

    pub(crate) async fn pool(&self) -> PgPool {
        let pool = stockwatch::ledger::pool(&self.url.as_str().into()).expect("pool");
        stockwatch::ledger::migrate(&pool).await.expect("migrations");
        pool
    }

    /// A projector's settings for tests: quick passes and claims.
    pub(crate) fn config(&self) -> LedgerConfig {
        LedgerConfig {
            full_pass: Duration::from_millis(200),
            claim_idle: Duration::from_millis(1500),
            ..LedgerConfig::new(self.url.as_str().into())
        }
    }

    async fn count(&self, pool: &PgPool, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .expect("count")
    }
}

/// An app with the ledger on and its projector in-process (unless `projector` is off).
async fn app_with_books(books: &TestBooks, projector: bool) -> TestApp {
    let options = AppOptions {
        ledger: Some((books.url.clone(), projector.then(|| books.config()))),
        ..AppOptions::default()
    };
    spawn_app_on(TestRedis::start().await, options, |c| c.journal = true).await
}

/// The books against Redis once drained.
async fn check(store: &Inventory, books: &TestBooks) -> LedgerReport {
    let pool = books.pool().await;
    stockwatch::ledger::check(store, &pool, Duration::from_secs(30), None)
        .await
        .expect("check runs")
}

/// Every feed of this app's prefix, and a connection to read them.
pub(crate) async fn feeds(app: &TestApp) -> (redis::aio::MultiplexedConnection, Vec<String>) {
    let mut conn = app.redis.raw().await;
    let keys = app.store.keys();
    let slots: Vec<u16> = redis::cmd("SMEMBERS")
        .arg(keys.ledger_slots())
        .query_async(&mut conn)
        .await
        .unwrap();
    (conn, slots.into_iter().map(|s| keys.ledger_feed(s)).collect())
}

/// Entries ever added to these streams (`XINFO STREAM`'s `entries-added`: trimming does
/// not lower it).
async fn entries_added(conn: &mut redis::aio::MultiplexedConnection, streams: &[String]) -> u64 {
    let mut total = 0;
    for stream in streams {
        let info: std::collections::HashMap<String, redis::Value> = redis::cmd("XINFO")
            .arg("STREAM")
            .arg(stream)
            .query_async(conn)
            .await
            .unwrap();
        total += redis::from_redis_value::<u64>(info["entries-added"].clone()).unwrap();
    }
    total
}

/// Entries ever written to the feeds of this store's slots.
async fn entries_written(app: &TestApp) -> u64 {
    let (mut conn, feeds) = feeds(app).await;
    entries_added(&mut conn, &feeds).await
}

/// Purchases on both strategies, a cart, and reservations confirmed, cancelled and left to
/// expire, all at once. Returns the order ids answered.
async fn mixed_rush(app: &TestApp, buyers: usize) -> Vec<String> {
    app.set_stock("L-A", 10_000).await;
    app.set_stock("L-B", 10_000).await;
    let (status, _) = app.post("/v1/skus/L-A/restock", json!({"quantity": 5})).await;
    assert_eq!(status, 200);
    let mut tasks = Vec::new();
    for i in 0..buyers {
        let app_url = app.address.clone();
        let client = app.client.clone();
        tasks.push(tokio::spawn(async move {
            let post = |path: String, body: serde_json::Value| {
                let client = client.clone();
                let url = format!("{app_url}{path}");
                async move {
                    let resp = client.post(url).json(&body).send().await.expect("sent");
                    let status = resp.status().as_u16();
                    (status, resp.json::<serde_json::Value>().await.unwrap_or_default())
                }
            };
            let strategy = if i % 2 == 0 { "watch" } else { "lua" };
            let mut orders = Vec::new();
            match i % 5 {
                0 | 1 => {
                    let (s, b) = post(
                        format!("/v1/purchases?strategy={strategy}"),
                        json!({"sku": "L-A", "quantity": 1, "user_id": format!("u{i}")}),
                    )
                    .await;
                    assert_eq!(s, 201, "{b}");
                    orders.push(b["order_id"].as_str().unwrap().to_owned());
                }
                2 => {
                    let (s, b) = post(
                        format!("/v1/checkouts?strategy={strategy}"),
                        json!({"user_id": format!("u{i}"), "items": [{"sku": "L-A", "quantity": 1}, {"sku": "L-B", "quantity": 2}]}),
                    )
                    .await;
                    assert_eq!(s, 201, "{b}");
                    orders.push(b["order_id"].as_str().unwrap().to_owned());
                }
                _ => {
                    let ttl = if i % 10 == 3 { 1 } else { 60 };
                    let (s, b) = post(
                        format!("/v1/reservations?strategy={strategy}"),
                        json!({"user_id": format!("u{i}"), "items": [{"sku": "L-B", "quantity": 1}], "ttl_seconds": ttl}),
                    )
                    .await;
                    assert_eq!(s, 201, "{b}");
                    let id = b["reservation_id"].as_str().unwrap().to_owned();
                    if ttl == 60 && i % 2 == 0 {
                        let (s, b) = post(format!("/v1/reservations/{id}/confirm"), json!({})).await;
                        assert_eq!(s, 201, "{b}");
                        orders.push(b["order_id"].as_str().unwrap().to_owned());
                    } else if ttl == 60 {
                        let (s, _) = post(format!("/v1/reservations/{id}/extend"), json!({"ttl_seconds": 120})).await;
                        assert_eq!(s, 200);
                        let (s, _) = post(format!("/v1/reservations/{id}/cancel"), json!({})).await;
                        assert_eq!(s, 200);
                    }
                }
            }
            orders
        }));
    }
    let mut orders = Vec::new();
    for t in tasks {
        orders.extend(t.await.expect("buyer"));
    }
    orders
}

/// Waits until every hold with a 1 s TTL has been released by the expiry worker.
async fn until_released(app: &TestApp) {
    for _ in 0..100 {
        if app.stock("L-B").await["reserved"] == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("holds were not released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mixed_rush_lands_in_the_books_exactly() {
    let books = TestBooks::start().await;
    let app = app_with_books(&books, true).await;
    let orders = mixed_rush(&app, 300).await;
    until_released(&app).await;
    let report = check(&app.store, &books).await;
    assert!(report.ok, "{:#?}", report.differences);
    assert_eq!(report.orders, orders.len());
    let pool = books.pool().await;
    assert_eq!(books.count(&pool, "orders").await, orders.len() as i64);
    assert_eq!(
        books.count(&pool, "ledger_entries").await as u64,
        entries_written(&app).await
    );
    // Reservations end in the books as in Redis: each with its final status.
    let statuses: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM reservations GROUP BY status ORDER BY status")
            .fetch_all(&pool)
            .await
            .unwrap();
    let names: Vec<&str> = statuses.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["cancelled", "confirmed", "expired"], "{statuses:?}");
    // Redis's own invariants still hold, and the feeds were trimmed behind the projector.
    assert!(app.verify().await.ok);
    let (mut conn, feeds) = feeds(&app).await;
    for feed in feeds {
        let len: u64 = redis::cmd("XLEN").arg(&feed).query_async(&mut conn).await.unwrap();
        assert_eq!(len, 0, "{feed}");
    }
    assert!(metric(&app, "stockwatch_ledger_projected_total").await > 0.0);
    // The lag gauge is measured on the projector's full pass (every second by default), so
    // it may still show the last entries for up to a pass after the feeds are empty.
    let mut lag = metric(&app, "stockwatch_ledger_lag_entries").await;
    for _ in 0..50 {
        if lag == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        lag = metric(&app, "stockwatch_ledger_lag_entries").await;
    }
    assert_eq!(lag, 0.0, "the lag gauge reaches zero once the books caught up");
    assert_eq!(
        metric(&app, "stockwatch_ledger_projector").await,
        1.0,
        "the dashboard shows lag only then"
    );
}

/// Movements ever written to the SKUs' histories (here untrimmed): one ledger movement row
/// each, counted independently of the ledger. The creation is the hash's `born` field; the
/// rest are counted in its `moved`.
async fn movements_written(app: &TestApp, skus: &[&str]) -> i64 {
    let mut conn = app.redis.raw().await;
    let mut total = 0;
    for sku in skus {
        let key = app.store.keys().stock(&stockwatch::domain::Sku::parse(sku).unwrap());
        let (born, moved): (Option<String>, Option<i64>) = redis::cmd("HMGET")
            .arg(key)
            .arg("born")
            .arg("moved")
            .query_async(&mut conn)
            .await
            .unwrap();
        total += i64::from(born.is_some()) + moved.unwrap_or(0);
    }
    total
}

/// `stockwatch ledger` as its own process on this app's Redis and prefix.
fn projector_process(app: &TestApp, books: &TestBooks, fault: Option<&str>) -> tokio::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stockwatch"));
    cmd.args(["ledger", "--redis-url", &app.redis.url()])
        .args(["--key-prefix", app.store.keys().prefix()])
        .args(["--ledger-url", &books.url])
        .args(["--ledger-claim-idle-ms", "500", "--ledger-full-pass-ms", "100"])
        .env_remove("REDIS_URL")
        .env_remove("STOCKWATCH_LEDGER_FAULT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(fault) = fault {
        cmd.env("STOCKWATCH_LEDGER_FAULT", fault);
    }
    cmd.spawn().expect("stockwatch ledger starts")
}

async fn pending(app: &TestApp) -> u64 {
    let (mut conn, feeds) = feeds(app).await;
    let mut total = 0;
    for feed in feeds {
        let summary: Vec<redis::Value> = redis::cmd("XPENDING")
            .arg(feed)
            .arg("ledger")
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        total += summary
            .first()
            .and_then(|v| redis::from_redis_value::<u64>(v.clone()).ok())
            .unwrap_or(0);
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_projector_killed_before_or_after_its_commit_replays_nothing_twice_and_skips_nothing() {
    let books = TestBooks::start().await;
    let app = app_with_books(&books, false).await;
    let orders = mixed_rush(&app, 200).await;
    until_released(&app).await;
    let written = entries_written(&app).await;
    let pool = books.pool().await;

    // Dies inside its first transaction: nothing lands, everything it read stays pending.
    let status = projector_process(&app, &books, Some("abort-before-commit"))
        .wait()
        .await
        .unwrap();
    assert!(!status.success(), "the fault must end the process");
    assert_eq!(books.count(&pool, "ledger_entries").await, 0);
    let stranded = pending(&app).await;
    assert!(stranded > 0, "the dead projector left its batch pending");

    // Dies after COMMIT, before XACK: its batch is in the books and still pending in Redis.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let status = projector_process(&app, &books, Some("abort-after-commit"))
        .wait()
        .await
        .unwrap();
    assert!(!status.success());
    let landed = books.count(&pool, "ledger_entries").await;
    assert!(landed > 0, "the batch committed");
    assert!(pending(&app).await > 0, "but was never acknowledged");

    // A healthy projector claims both leftovers (after their idle time) and drains.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _healthy = projector_process(&app, &books, None);
    let report = check(&app.store, &books).await;
    assert!(report.ok, "{:#?}", report.differences);
    assert_eq!(report.orders, orders.len());
    assert_eq!(books.count(&pool, "ledger_entries").await as u64, written);
    assert_eq!(
        books.count(&pool, "movements").await,
        movements_written(&app, &["L-A", "L-B"]).await
    );
    assert_eq!(books.count(&pool, "orders").await, orders.len() as i64);
    assert_eq!(pending(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_projectors_at_once_land_each_entry_once() {
    let books = TestBooks::start().await;
    let app = app_with_books(&books, false).await;
    // Two projectors with stores of their own (so their metrics are their own), racing
    // the rush itself; small batches so both get work.
    let mut projectors = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..2 {
        let store = Inventory::new(
            Store::new(
                &app.redis.url(),
                stockwatch::StoreConfig {
                    key_prefix: app.store.keys().prefix().to_owned(),
                    journal: true,
                    ..Default::default()
                },
            )
            .unwrap(),
        );
        let config = LedgerConfig {
            batch: 20,
            ..books.config()
        };
        stores.push(store.clone());
        projectors.push(tokio::spawn(stockwatch::ledger::run(
            store.store().clone(),
            config,
            std::future::pending(),
        )));
    }
    let orders = mixed_rush(&app, 300).await;
    until_released(&app).await;
    let report = check(&app.store, &books).await;
    assert!(report.ok, "{:#?}", report.differences);
    let pool = books.pool().await;
    let written = entries_written(&app).await;
    assert_eq!(books.count(&pool, "ledger_entries").await as u64, written);
    assert_eq!(
        books.count(&pool, "movements").await,
        movements_written(&app, &["L-A", "L-B"]).await
    );
    assert_eq!(books.count(&pool, "orders").await, orders.len() as i64);
    let shares: Vec<u64> = stores.iter().map(|s| s.metrics().ledger.projected.get()).collect();
    assert_eq!(
        shares.iter().sum::<u64>(),
        written,
        "each entry counted by exactly one: {shares:?}"
    );
    assert!(shares.iter().all(|&n| n > 0), "both took part: {shares:?}");
    for p in projectors {
        p.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_feed_no_projector_has_opened_yet_is_not_drained() {
    // A check that ran before any projector made its group on a feed once found "no lag"
    // there and reported every counter as missing from the books.
    let books = TestBooks::start().await;
    let app = app_with_books(&books, false).await;
    app.set_stock("L-A", 10).await;
    buy(&app, "L-A", 3).await;
    let pool = books.pool().await;
    let report = stockwatch::ledger::check(&app.store, &pool, Duration::from_millis(300), None)
        .await
        .unwrap();
    let first = report.differences.first().expect("a difference");
    assert_eq!(first.rule, "not_drained", "{:#?}", report.differences);
    assert!(
        first.message.starts_with("4 feed entries"),
        "the set and 3 sales: {}",
        first.message
    );
    // Once a projector has run, the same check passes.
    let _projector = projector_process(&app, &books, None);
    let report = check(&app.store, &books).await;
    assert!(report.ok, "{:#?}", report.differences);
}

/// Buys `n` units of `sku` one at a time; panics on anything but a 201.
async fn buy(app: &TestApp, sku: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (s, b) = app
            .post(
                "/v1/purchases",
                json!({"sku": sku, "quantity": 1, "user_id": format!("b{i}")}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        ids.push(b["order_id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_postgresql_down_every_checkout_is_answered_as_usual_and_the_books_catch_up() {
    let mut books = TestBooks::start().await;
    let app = app_with_books(&books, true).await;
    app.set_stock("L-A", 200).await;
    // The projector is up and has the books' schema before they go away.
    for _ in 0..100 {
        if metric(&app, "stockwatch_ledger_projected_total").await >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::task::block_in_place(|| books.pg.stop());
    // 300 buyers for 200 units, on both strategies, while the books are unreachable.
    let mut tasks = Vec::new();
    for i in 0..300 {
        let (client, url) = (
            app.client.clone(),
            app.url(if i % 2 == 0 {
                "/v1/purchases"
            } else {
                "/v1/purchases?strategy=lua"
            }),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .json(&json!({"sku": "L-A", "quantity": 1, "user_id": format!("u{i}")}))
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 200, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 409).count(), 100, "{statuses:?}");
    // The lag shows while PostgreSQL is down.
    // The projector learns PostgreSQL is away only when its pool gives up (up to 5 s per
    // attempt), so the lag shows some seconds later on a loaded machine.
    let mut behind = 0.0;
    for _ in 0..300 {
        behind = metric(&app, "stockwatch_ledger_lag_entries").await;
        if behind >= 200.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(behind >= 200.0, "lag {behind}");
    assert!(metric(&app, "stockwatch_ledger_batch_failures_total").await > 0.0);
    tokio::task::block_in_place(|| books.pg.start_again()).expect("postgres restarts");
    let report = check(&app.store, &books).await;
    assert!(report.ok, "{:#?}", report.differences);
    assert_eq!(report.orders, 200);
}

/// `stockwatch verify --ledger` on this app's data: its exit code and output.
async fn verify_cli(app: &TestApp, ledger_url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args([
            "verify",
            "--ledger",
            "--ledger-drain-s",
            "10",
            "--redis-url",
            &app.redis.url(),
        ])
        .args(["--key-prefix", app.store.keys().prefix(), "--ledger-url", ledger_url])
        .env_remove("REDIS_URL")
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_ledger_names_a_tampered_row_and_exits_by_the_contract() {
    let books = TestBooks::start().await;
    let app = app_with_books(&books, true).await;
    app.set_stock("L-A", 50).await;
    let orders = buy(&app, "L-A", 10).await;
    let (code, out) = verify_cli(&app, &books.url).await;
    assert_eq!(code, 0, "{out}");
    let pool = books.pool().await;
    let changed = sqlx::query("UPDATE order_lines SET quantity = quantity + 1 WHERE order_id = $1::uuid")
        .bind(&orders[3])
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    let (code, out) = verify_cli(&app, &books.url).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&orders[3]) && out.contains("order_differs"), "{out}");
    assert!(out.contains("L-A [order_lines_mismatch]"), "{out}");
    // An order Redis lost behind the service's back is named from the ledger's side (read a
    // page of rows at a time, each checked with EXISTS).
    let lost = stockwatch::domain::OrderId::parse(&orders[5]).unwrap();
    let mut conn = app.redis.raw().await;
    let deleted: i64 = redis::cmd("DEL")
        .arg(app.store.keys().order(&lost))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let (code, out) = verify_cli(&app, &books.url).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&orders[5]) && out.contains("order_missing_in_redis"),
        "{out}"
    );
    // Books that cannot be reached: the check cannot run.
    let (code, out) = verify_cli(&app, "postgres://postgres@127.0.0.1:1/books").await;
    assert_eq!(code, 2, "{out}");
}

async fn xlen(app: &TestApp, key: &str) -> u64 {
    let mut conn = app.redis.raw().await;
    redis::cmd("XLEN").arg(key).query_async(&mut conn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trimming_at_its_tightest_never_drops_an_entry_someone_has_not_acknowledged() {
    let books = TestBooks::start().await;
    let app = app_with_books(&books, false).await;
    app.set_stock("L-A", 100).await;
    let keys = app.store.keys().clone();
    let sku = stockwatch::domain::Sku::parse("L-A").unwrap();
    let feed = keys.ledger_feed(app.store.feed_slot(keys.slot_of_sku(&sku)));
    // A second group on the feed (an auditor) that has read nothing yet.
    let mut conn = app.redis.raw().await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&feed)
        .arg("audit")
        .arg("0")
        .query_async(&mut conn)
        .await
        .unwrap();
    buy(&app, "L-A", 20).await;
    // A projector dies holding its first batch: those entries are pending, unprojected.
    let status = projector_process(&app, &books, Some("abort-before-commit"))
        .wait()
        .await
        .unwrap();
    assert!(!status.success());
    let stranded = pending(&app).await;
    assert_eq!(stranded, 21, "the set and 20 sales");
    // A projector that will not claim them (idle time far off) trims at every pass.
    let store = Inventory::new(
        Store::new(
            &app.redis.url(),
            stockwatch::StoreConfig {
                key_prefix: keys.prefix().to_owned(),
                journal: true,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let patient = LedgerConfig {
        claim_idle: Duration::from_secs(3600),
        full_pass: Duration::from_millis(50),
        ..books.config()
    };
    let task = tokio::spawn(stockwatch::ledger::run(
        store.store().clone(),
        patient,
        std::future::pending(),
    ));
    buy(&app, "L-A", 10).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    task.abort();
    assert_eq!(
        store.metrics().ledger.projected.get(),
        10,
        "it projected only the new ones"
    );
    assert_eq!(pending(&app).await, stranded, "the dead one's are still pending");
    assert_eq!(xlen(&app, &feed).await, 31, "and nothing was trimmed from under them");
    // A projector that claims them drains everything; the auditor's unread entries stay.
    let task = tokio::spawn(stockwatch::ledger::run(
        store.store().clone(),
        books.config(),
        std::future::pending(),
    ));
    let report = check(&app.store, &books).await;
    assert!(report.ok, "{:#?}", report.differences);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(xlen(&app, &feed).await, 31, "unread by the auditor: kept");
    // Once the auditor has read and acknowledged them, they go too.
    let read: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("audit")
        .arg("a1")
        .arg("STREAMS")
        .arg(&feed)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    let ids: Vec<String> = read.keys[0].ids.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 31);
    let _: i64 = redis::cmd("XACK")
        .arg(&feed)
        .arg("audit")
        .arg(&ids)
        .query_async(&mut conn)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(xlen(&app, &feed).await, 0, "acknowledged by every group: trimmed");
    task.abort();
}

/// `stockwatch ledger dead-letters …` on this app's data.
async fn dead_letters_cli(app: &TestApp, books: &TestBooks, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args([
            "ledger",
            "--redis-url",
            &app.redis.url(),
            "--key-prefix",
            app.store.keys().prefix(),
        ])
        .args(["--ledger-url", &books.url, "dead-letters"])
        .args(extra)
        .env_remove("REDIS_URL")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_entry_goes_to_the_dead_letters_and_the_entries_behind_it_still_land() {
    let books = TestBooks::start().await;
    let app = app_with_books(&books, true).await;
    let pool = books.pool().await;
    // The books refuse one SKU (a rule added by an operator, later lifted).
    sqlx::query("ALTER TABLE order_lines ADD CONSTRAINT no_blocked CHECK (sku <> 'L-BLOCK')")
        .execute(&pool)
        .await
        .unwrap();
    app.set_stock("L-A", 100).await;
    app.set_stock("L-BLOCK", 10).await;
    let before = buy(&app, "L-A", 5).await;
    let blocked = buy(&app, "L-BLOCK", 1).await;
    // And an entry no projector can read, in L-A's own feed, between its sales.
    let keys = app.store.keys();
    let feed = keys.ledger_feed(
        app.store
            .feed_slot(keys.slot_of_sku(&stockwatch::domain::Sku::parse("L-A").unwrap())),
    );
    let mut conn = app.redis.raw().await;
    let malformed: String = redis::cmd("XADD")
        .arg(&feed)
        .arg("*")
        .arg("e")
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    let after = buy(&app, "L-A", 5).await;

    let report = check(&app.store, &books).await;
    let dead: Vec<&str> = report
        .differences
        .iter()
        .filter(|d| d.rule == "dead_letter")
        .map(|d| d.subject.as_str())
        .collect();
    assert_eq!(dead.len(), 2, "{:#?}", report.differences);
    assert!(dead.contains(&malformed.as_str()));
    // Everything else landed, before and after the poison.
    for id in before.iter().chain(&after) {
        let found: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE order_id = $1::uuid")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(found, 1, "{id}");
    }
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.rule == "order_missing_in_ledger" && d.subject == blocked[0])
    );
    assert_eq!(metric(&app, "stockwatch_ledger_dead_lettered_total").await, 2.0);
    let listed = dead_letters_cli(&app, &books, &["--json"]).await;
    let listed: Vec<serde_json::Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.len(), 2);
    let refused = listed.iter().find(|l| l["source"] != malformed.as_str()).unwrap();
    assert!(refused["reason"].as_str().unwrap().contains("no_blocked"), "{refused}");

    // The rule is lifted; the refused entry is replayed and lands, once.
    sqlx::query("ALTER TABLE order_lines DROP CONSTRAINT no_blocked")
        .execute(&pool)
        .await
        .unwrap();
    let source = refused["source"].as_str().unwrap();
    let said = dead_letters_cli(&app, &books, &["--replay", "--id", source]).await;
    assert!(said.starts_with("1 "), "{said}");
    let report = check(&app.store, &books).await;
    let left: Vec<(&str, &str)> = report
        .differences
        .iter()
        .map(|d| (d.rule, d.subject.as_str()))
        .collect();
    assert_eq!(
        left,
        [("dead_letter", malformed.as_str())],
        "only the unreadable one remains"
    );
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE entry_id = $1")
        .bind(source)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(found, 1, "the replay keeps its original id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn projected_orders_age_out_of_redis_and_are_still_served_and_verified() {
    let books = TestBooks::start().await;
    let retention = Duration::from_millis(800);
    let config = LedgerConfig {
        order_retention: Some(retention),
        ..books.config()
    };
    let options = AppOptions {
        ledger: Some((books.url.clone(), Some(config))),
        ..AppOptions::default()
    };
    let app = spawn_app_on(TestRedis::start().await, options, |c| c.journal = true).await;
    app.set_stock("L-A", 100).await;
    let ids = buy(&app, "L-A", 20).await;
    let (_, first) = app.get(&format!("/v1/orders/{}", ids[0])).await;
    let mut conn = app.redis.raw().await;
    let pattern = app.store.keys().order_pattern();
    let mut left = usize::MAX;
    for _ in 0..100 {
        let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(&mut conn).await.unwrap();
        left = keys.len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "every projected order aged out of Redis");
    // Still served, the same body, now from the books.
    let (status, again) = app.get(&format!("/v1/orders/{}", ids[0])).await;
    assert_eq!(status, 200);
    assert_eq!(again, first);
    // Redis's own verify still balances `sold` (with the aged counters) ...
    let redis_report = app.verify().await;
    assert!(redis_report.ok, "{:?}", redis_report.violations);
    assert_eq!(redis_report.orders, 0);
    // ... and the books report the orders as aged out, not missing.
    let pool = books.pool().await;
    let report = stockwatch::ledger::check(&app.store, &pool, Duration::from_secs(10), Some(retention))
        .await
        .unwrap();
    assert!(report.ok, "{:#?}", report.differences);
    assert_eq!(report.aged_out, 20);
    // Without the retention, the same orders would be missing from Redis: a difference.
    let strict = stockwatch::ledger::check(&app.store, &pool, Duration::from_secs(10), None)
        .await
        .unwrap();
    assert_eq!(strict.differences.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_cluster_every_slot_feeds_the_books_and_cross_slot_carts_land_whole() {
    use crate::cluster::{TestCluster, cart, one_per_master, stock};
    use stockwatch::domain::{Strategy, TtlSeconds, UserId};
    use stockwatch::ops;
    let books = TestBooks::start().await;
    let cluster = TestCluster::start().await;
    let store = cluster.store(|c| c.journal = true);
    let skus = one_per_master("LC");
    for sku in &skus {
        stock(&store, sku, 1000).await;
    }
    let projector = tokio::spawn(stockwatch::ledger::run(
        store.store().clone(),
        books.config(),
        std::future::pending(),
    ));
    let user = |i: usize| UserId::parse(&format!("u{i}").into()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..150 {
        let (store, skus) = (store.clone(), skus.clone());
        tasks.push(tokio::spawn(async move {
            let strategy = if i % 2 == 0 { Strategy::Watch } else { Strategy::Lua };
            let sku = &skus[i % 3];
            match i % 3 {
                // A purchase on one master.
                0 => {
                    ops::checkout(&store, strategy, &cart(&[(sku, 1)]), &user(i), None)
                        .await
                        .unwrap();
                }
                // A cart across all three masters: a saga.
                1 => {
                    let items = cart(&[(&skus[0], 1), (&skus[1], 2), (&skus[2], 1)]);
                    ops::checkout(&store, strategy, &items, &user(i), None).await.unwrap();
                }
                // A cross-slot reservation, confirmed or cancelled.
                _ => {
                    let items = cart(&[(&skus[0], 1), (&skus[2], 1)]);
                    let ttl = TtlSeconds::parse(Some(&60.into())).unwrap();
                    let held = ops::reserve(&store, strategy, &items, &user(i), ttl, None)
                        .await
                        .unwrap();
                    if i % 2 == 0 {
                        ops::confirm(&store, &held.reservation_id, None).await.unwrap();
                    } else {
                        ops::cancel(&store, &held.reservation_id, None).await.unwrap();
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let pool = books.pool().await;
    let report = stockwatch::ledger::check(&store, &pool, Duration::from_secs(30), None)
        .await
        .unwrap();
    assert!(report.ok, "{:#?}", report.differences);
    assert!(ops::verify(&store).await.unwrap().ok);
    // Feeds on every master took part.
    let slots: Vec<i32> = sqlx::query_scalar("SELECT DISTINCT slot FROM ledger_entries")
        .fetch_all(&pool)
        .await
        .unwrap();
    for range in [0..5461, 5461..10923, 10923..16384] {
        assert!(slots.iter().any(|s| range.contains(&(*s as u16))), "{slots:?}");
    }
    // A saga's order is one row with all its lines, whatever slots moved the stock.
    let widest: i64 =
        sqlx::query_scalar("SELECT max(n) FROM (SELECT count(*) AS n FROM order_lines GROUP BY order_id) t")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(widest, 3);
    projector.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellations_and_returns_land_in_the_books_and_verify_knows_them() {
    let books = TestBooks::start().await;
    let app = app_with_books(&books, true).await;
    app.set_stock("lamp", 20).await;
    let buy = |n: i64| {
        let app = &app;
        async move {
            let body = json!({"sku": "lamp", "quantity": n, "user_id": "erin"});
            let (status, order) = app.post("/v1/purchases?strategy=lua", body).await;
            assert_eq!(status, 201, "{order}");
            order["order_id"].as_str().unwrap().to_owned()
        }
    };
    let (cancelled, returned, kept) = (buy(3).await, buy(4).await, buy(2).await);
    let (status, _) = app
        .post(
            &format!("/v1/orders/{cancelled}/cancel"),
            json!({"disposition": "damaged"}),
        )
        .await;
    assert_eq!(status, 200);
    for line in [
        json!({"sku": "lamp", "quantity": 1}),
        json!({"sku": "lamp", "quantity": 2, "disposition": "damaged"}),
    ] {
        let (status, body) = app
            .post(&format!("/v1/orders/{returned}/returns"), json!({"lines": [line]}))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let report = check(&app.store, &books).await;
    assert!(report.ok, "{:?}", report.differences);
    let pool = books.pool().await;
    assert_eq!(books.count(&pool, "return_lines").await, 3);
    let damaged: i64 = sqlx::query_scalar("SELECT sum(d_damaged)::bigint FROM movements WHERE sku = 'lamp'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(damaged, 5, "3 cancelled and 2 returned as damaged");
    // The books rebuild an order's returns, so its status reads the same from either side.
    let id = stockwatch::domain::OrderId::parse(&returned).unwrap();
    let from_books = stockwatch::ledger::find_order(&pool, &id).await.unwrap().unwrap();
    let (_, from_redis) = app.get(&format!("/v1/orders/{returned}")).await;
    assert_eq!(
        serde_json::to_value(&from_books).unwrap()["status"],
        "partially_returned"
    );
    assert_eq!(
        serde_json::to_value(&from_books).unwrap()["returns"],
        from_redis["returns"]
    );
    assert!(!kept.is_empty());
    // A return line lost from the books is named, and so is the count it no longer explains.
    sqlx::query("DELETE FROM return_lines WHERE order_id = $1::uuid AND quantity = 2")
        .bind(&returned)
        .execute(&pool)
        .await
        .unwrap();
    let report = check(&app.store, &books).await;
    let rules: Vec<&str> = report.differences.iter().map(|d| d.rule).collect();
    assert!(rules.contains(&"returns_differ"), "{rules:?}");
    assert!(rules.contains(&"order_lines_mismatch"), "{rules:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn preorders_land_in_the_books_and_they_agree_with_redis() {
    let books = TestBooks::start().await;
    let app = app_with_books(&books, true).await;
    app.set_stock("kit", 2).await;
    let (status, _) = app
        .post(
            "/v1/skus/kit/incoming",
            json!({"ref": "PO-1", "quantity": 10, "expected_at": "2030-01-15T09:00:00Z"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            "/v1/skus/kit/preorders",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    let buy = |n: i64, strategy: &'static str| {
        let app = &app;
        async move {
            let body = json!({"sku": "kit", "quantity": n, "user_id": "erin"});
            let (status, order) = app.post(&format!("/v1/purchases?strategy={strategy}"), body).await;
            assert_eq!(status, 201, "{order}");
            order
        }
    };
    buy(2, "watch").await;
    let a = buy(3, "lua").await;
    let b = buy(4, "watch").await;
    assert_eq!((&a["preorder"], &b["preorder"]), (&json!(true), &json!(true)));
    let hold = app.reserve("lua", &[("kit", 2)], 600).await;
    // 5 arrive: all of a, 2 of b; then b and the hold are cancelled.
    let (status, _) = app
        .post("/v1/skus/kit/incoming/PO-1/receive", json!({"quantity": 5}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            &format!("/v1/orders/{}/cancel", b["order_id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let id = hold["reservation_id"].as_str().unwrap();
    let (status, _) = app.post(&format!("/v1/reservations/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200);
    let stock = app.stock("kit").await;
    assert_eq!(
        (
            &stock["available"],
            &stock["sold"],
            &stock["reserved"],
            &stock["preordered"]
        ),
        (&json!(2), &json!(5), &json!(0), &json!(0)),
        "{stock}"
    );
    let report = check(&app.store, &books).await;
    assert!(report.ok, "{:?}", report.differences);
    let pool = books.pool().await;
    let filled: i64 =
        sqlx::query_scalar("SELECT sum(quantity)::bigint FROM movements WHERE sku = 'kit' AND kind = 'fill'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(filled, 5);
    let verified = app.verify().await;
    assert!(verified.ok, "{:?}", verified.violations);
    // Books that lost a purchase order, or miscounted a preorder, are named.
    sqlx::query("UPDATE movements SET d_preordered = d_preordered + 1 WHERE sku = 'kit' AND kind = 'fill'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM movements WHERE sku = 'kit' AND kind = 'expect'")
        .execute(&pool)
        .await
        .unwrap();
    let report = check(&app.store, &books).await;
    let rules: Vec<&str> = report.differences.iter().map(|d| d.rule).collect();
    assert_eq!(
        rules,
        ["incoming_mismatch", "preordered_mismatch"],
        "{:?}",
        report.differences
    );
}
