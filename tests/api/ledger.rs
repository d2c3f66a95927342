//! The ledger against a real PostgreSQL (started here, as the `postgres` user) and a real
//! redis-server: drains after mixed rushes, crashes on both sides of COMMIT, two projectors,
//! PostgreSQL down mid-rush, tampering, trimming at its tightest, poison entries, retention.

use crate::helpers::{AppOptions, TestApp, TestRedis, fresh_prefix, spawn_app_on};
use serde_json::json;
use sqlx::PgPool;
use std::time::Duration;
use stockwatch::Store;
use stockwatch::ledger::{LedgerConfig, LedgerReport};
use stockwatch::managed_postgres::ManagedPostgres;
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
        let pool = stockwatch::ledger::pool(&self.url).expect("pool");
        stockwatch::ledger::migrate(&pool).await.expect("migrations");
        pool
    }

    /// A projector's settings for tests: quick passes and claims.
    pub(crate) fn config(&self) -> LedgerConfig {
        LedgerConfig {
            full_pass: Duration::from_millis(200),
            claim_idle: Duration::from_millis(1500),
            ..LedgerConfig::new(&self.url)
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
async fn check(store: &Store, books: &TestBooks) -> LedgerReport {
    let pool = books.pool().await;
    stockwatch::ledger::check(store, &pool, Duration::from_secs(30), None)
        .await
        .expect("check runs")
}

/// Entries ever written to the feeds of this store's slots.
async fn entries_written(app: &TestApp) -> u64 {
    let mut conn = app.redis.raw().await;
    let keys = app.store.keys();
    let slots: Vec<u16> = redis::cmd("SMEMBERS")
        .arg(keys.journal_slots())
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut total = 0;
    for slot in slots {
        let info: std::collections::HashMap<String, redis::Value> = redis::cmd("XINFO")
            .arg("STREAM")
            .arg(keys.journal(slot))
            .query_async(&mut conn)
            .await
            .unwrap();
        total += redis::from_redis_value::<u64>(info["entries-added"].clone()).unwrap();
    }
    total
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
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("stockwatch_ledger_projected_total"), "{metrics}");
    assert!(metrics.contains("stockwatch_ledger_lag_entries 0"), "{metrics}");
}
