use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};
use stockwatch::expiry::ExpiryConfig;
use stockwatch::managed::redis_server::{ManagedRedis, Persistence};
use stockwatch::ops::Inventory;
use stockwatch::startup::{Application, HttpSettings};
use stockwatch::{Store, StoreConfig};

/// A private redis-server for one test; killed when dropped.
pub struct TestRedis {
    pub server: ManagedRedis,
    dir: tempfile::TempDir,
    persistence: Persistence,
}

impl TestRedis {
    pub async fn start() -> Self {
        Self::start_with(Persistence::None).await
    }

    pub async fn start_with(persistence: Persistence) -> Self {
        let dir = tempfile::Builder::new().prefix("sw-test").tempdir().expect("temp dir");
        let server = ManagedRedis::start(dir.path(), persistence)
            .await
            .expect("redis-server starts");
        Self {
            server,
            dir,
            persistence,
        }
    }

    /// A new redis-server on the same directory and socket, after the first one died (the AOF
    /// replays). Keep the handle: dropping it stops the server.
    pub async fn restart(&self) -> ManagedRedis {
        ManagedRedis::start(self.dir.path(), self.persistence)
            .await
            .unwrap_or_else(|e| panic!("restart: {e}"))
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A plain connection for assertions and for meddling (never used by the code under test).
    /// Its response timeout is generous: redis-rs's 500 ms default is too short for a
    /// big XRANGE on a starved CI core.
    pub async fn raw(&self) -> redis::aio::MultiplexedConnection {
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(std::time::Duration::from_secs(10)));
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .unwrap()
    }

    /// [`TestRedis::raw`], with Redis's command stats reset first, for [`calls`].
    pub async fn raw_counting(&self) -> redis::aio::MultiplexedConnection {
        let mut raw = self.raw().await;
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut raw)
            .await
            .unwrap();
        raw
    }
}

/// Calls of `command` Redis ran since its stats were reset (`INFO commandstats`).
pub async fn calls(conn: &mut redis::aio::MultiplexedConnection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(conn).await.unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

/// Polls until `done` holds or `limit` passes; a generous bound, not a speed assertion.
pub async fn eventually(limit: std::time::Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let until = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < until {
        if done().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    done().await
}

/// `slot`'s entry in the expiry schedule `due` (the workers' next look, epoch ms).
pub async fn schedule_entry(conn: &mut redis::aio::MultiplexedConnection, due: &str, slot: u16) -> Option<i64> {
    redis::cmd("ZSCORE").arg(due).arg(slot).query_async(conn).await.unwrap()
}

/// A key prefix no other test in this run uses.
pub fn fresh_prefix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("t{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub fn store_on(redis: &TestRedis, tweak: impl FnOnce(&mut StoreConfig)) -> Inventory {
    let mut config = StoreConfig {
        key_prefix: fresh_prefix(),
        ..StoreConfig::default()
    };
    tweak(&mut config);
    Inventory::new(Store::new(&redis.url(), config).expect("store"))
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Inventory,
    pub redis: TestRedis,
}

pub struct AppOptions {
    pub allow_broken: bool,
    pub admin_token: Option<String>,
    /// `serve --require-keys`.
    pub require_keys: bool,
    /// The in-process expiry worker (on by default, as in `serve`).
    pub expiry: Option<ExpiryConfig>,
    /// The ledger: its URL, and whether a projector runs in the app (`serve --ledger on`).
    pub ledger: Option<(String, Option<stockwatch::ledger::LedgerConfig>)>,
    /// Webhook hosts and retries; with any host allowed, a sender runs in the app.
    pub webhooks: stockwatch::webhooks::WebhookConfig,
    /// `serve --otlp-endpoint`.
    pub otlp_endpoint: Option<String>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            allow_broken: true,
            admin_token: None,
            require_keys: false,
            expiry: Some(ExpiryConfig::default()),
            ledger: None,
            webhooks: Default::default(),
            otlp_endpoint: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default(), |_| {}).await
}

pub async fn spawn_app_with(options: AppOptions, tweak: impl FnOnce(&mut StoreConfig)) -> TestApp {
    spawn_app_on(TestRedis::start().await, options, tweak).await
}

/// An app on a given redis-server (e.g. one the test will crash and restart).
pub async fn spawn_app_on(redis: TestRedis, options: AppOptions, tweak: impl FnOnce(&mut StoreConfig)) -> TestApp {
    let store = store_on(&redis, tweak);
    serve_store(redis, store, options).await
}

/// An app on a store built by the test (e.g. one that reaches Redis through a proxy).
pub async fn serve_store(redis: TestRedis, store: Inventory, options: AppOptions) -> TestApp {
    let settings = HttpSettings {
        bind: "127.0.0.1:0".into(),
        admin_token: options.admin_token.map(Into::into),
        require_keys: options.require_keys,
        allow_broken: options.allow_broken,
        workers: Some(2),
        lanes: Default::default(),
        otlp_endpoint: options.otlp_endpoint,
        expiry: options.expiry,
        ledger_url: options.ledger.as_ref().map(|(url, _)| url.as_str().into()),
        projector: options.ledger.and_then(|(_, projector)| projector),
        webhooks: options.webhooks,
        admission_secret: None,
    };
    let app = Application::build(settings, store.clone()).expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    // Idle connections are dropped before the server's 5 s keep-alive closes them, so a
    // request never races the server closing the connection it was sent on.
    // No request waits forever: one that hangs fails its test, by name, instead of hanging
    // the whole run. Far longer than any test's request needs.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(600)
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    // Ready once it answers: what `serve` does before its first request (the catalog's
    // one-time backfill) is then done, so a test's "before" is really before.
    for _ in 0..200 {
        if client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    TestApp {
        address,
        client,
        store,
        redis,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// The body of a GET as text (e.g. `/metrics`).
    pub async fn text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// POSTs `body` to `POST /v1/skus/import` as NDJSON: the status and the summary.
    pub async fn import(&self, body: &str) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url("/v1/skus/import"))
            .header("Content-Type", "application/x-ndjson")
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// A POST carrying an `Idempotency-Key`; returns the status and the raw body text too,
    /// so replays can be compared byte for byte.
    pub async fn post_keyed(&self, path: &str, body: Value, key: &str) -> (u16, String) {
        let resp = self
            .client
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        (resp.status().as_u16(), resp.text().await.unwrap_or_default())
    }

    /// Holds `items` (`[(sku, quantity)]`) for `ttl` seconds; panics unless it is a 201.
    pub async fn reserve(&self, strategy: &str, items: &[(&str, i64)], ttl: u64) -> Value {
        let items: Vec<Value> = items.iter().map(|(s, q)| json!({"sku": s, "quantity": q})).collect();
        let (status, body) = self
            .post(
                &format!("/v1/reservations?strategy={strategy}"),
                json!({"user_id": "holder", "items": items, "ttl_seconds": ttl}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Runs `stockwatch verify`'s checks over this app's prefix, straight on the test's
    /// redis-server with a relaxed timeout: the check must not depend on the app's own
    /// (sometimes deliberately tight, or proxied) connection.
    pub async fn verify(&self) -> stockwatch::ops::Report {
        let checker = Inventory::new(
            Store::new(
                &self.redis.url(),
                StoreConfig {
                    key_prefix: self.store.keys().prefix().to_owned(),
                    response_timeout: std::time::Duration::from_secs(10),
                    ..StoreConfig::default()
                },
            )
            .expect("store"),
        );
        stockwatch::ops::verify(&checker).await.expect("verify runs")
    }

    pub async fn set_stock(&self, sku: &str, available: i64) {
        let (status, body) = self
            .send(
                reqwest::Method::PUT,
                &format!("/v1/skus/{sku}/stock"),
                Some(json!({"available": available})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// The v1 stock object of `sku`: its totals, without `locations`.
    pub async fn totals(&self, sku: &str) -> Value {
        totals(self.stock(sku).await)
    }

    pub async fn stock(&self, sku: &str) -> Value {
        let (status, body) = self.get(&format!("/v1/skus/{sku}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Every key under this app's prefix with its type and value, to prove "nothing changed".
    pub async fn dump(&self) -> Vec<(String, String)> {
        let mut conn = self.redis.raw().await;
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.store.keys().prefix()))
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.sort();
        let mut out = Vec::new();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query_async(&mut conn).await.unwrap();
            let v: Value = match t.as_str() {
                "string" => json!(
                    redis::cmd("GET")
                        .arg(&k)
                        .query_async::<String>(&mut conn)
                        .await
                        .unwrap()
                ),
                "hash" => json!(
                    redis::cmd("HGETALL")
                        .arg(&k)
                        .query_async::<std::collections::BTreeMap<String, String>>(&mut conn)
                        .await
                        .unwrap()
                ),
                "stream" => json!(redis::cmd("XLEN").arg(&k).query_async::<i64>(&mut conn).await.unwrap()),
                "zset" => json!(
                    redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query_async::<Vec<String>>(&mut conn)
                        .await
                        .unwrap()
                ),
                other => json!(other),
            };
            out.push((k, v.to_string()));
        }
        out
    }

    /// Fires `n` purchases of one unit, all at once; returns the status of each.
    pub async fn rush(&self, sku: &str, n: usize, strategy: &str) -> Vec<u16> {
        self.rush_limited(sku, n, strategy, n).await
    }

    /// Fires `n` purchases of one unit with at most `in_flight` outstanding at a time.
    pub async fn rush_limited(&self, sku: &str, n: usize, strategy: &str, in_flight: usize) -> Vec<u16> {
        let path = format!("/v1/purchases?strategy={strategy}");
        self.fire(
            &path,
            n,
            in_flight,
            |i| json!({"sku": sku, "quantity": 1, "user_id": format!("buyer-{i}")}),
        )
        .await
    }

    /// POSTs `body(i)` to `path` for i in 0..n, at most `in_flight` at a time; each status
    /// (0 when the request itself failed).
    pub async fn fire(&self, path: &str, n: usize, in_flight: usize, body: impl Fn(usize) -> Value) -> Vec<u16> {
        use futures_util::StreamExt;
        let url = self.url(path);
        futures_util::stream::iter(0..n)
            .map(|i| {
                let request = self.client.post(&url).json(&body(i));
                async move { request.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
            })
            .buffer_unordered(in_flight.max(1))
            .collect()
            .await
    }

    /// Sum of quantities of `sku` over every stored order.
    pub async fn units_in_orders(&self, sku: &str) -> i64 {
        let mut conn = self.redis.raw().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(self.store.keys().order_pattern())
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut total = 0;
        for k in keys {
            let raw: String = redis::cmd("GET").arg(&k).query_async(&mut conn).await.unwrap();
            let order: Value = serde_json::from_str(&raw).unwrap();
            for line in order["items"].as_array().unwrap() {
                if line["sku"] == sku {
                    total += line["quantity"].as_i64().unwrap();
                }
            }
        }
        total
    }
}

/// A stock object without its `locations`: what a v1 client reads.
pub fn totals(mut stock: Value) -> Value {
    if let Some(o) = stock.as_object_mut() {
        o.remove("locations");
        // v1.5's counters, left out while they are 0 so the totals read as v1's.
        for counter in ["damaged", "incoming", "safety_stock", "preordered"] {
            if o.get(counter) == Some(&Value::from(0)) {
                o.remove(counter);
            }
        }
    }
    stock
}

/// Sends `signal` (`KILL`, `TERM`, `STOP`, …) to the process `pid`, as `kill(1)` does.
pub fn kill(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

pub fn count(statuses: &[u16], code: u16) -> usize {
    statuses.iter().filter(|s| **s == code).count()
}

/// The contract's error codes and their statuses, read from the "Error codes" table of
/// docs/API.md: the one list a client may rely on.
pub fn contract_codes() -> std::collections::BTreeMap<String, u16> {
    let text = include_str!("../../docs/API.md");
    let table = text
        .split("## Error codes")
        .nth(1)
        .expect("docs/API.md has an Error codes section");
    table
        .lines()
        .skip_while(|l| !l.starts_with("| `"))
        .take_while(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[2].parse().expect("a status"),
            )
        })
        .collect()
}

impl TestApp {
    /// Redis's clock, in ms: what sale windows and waiting rooms run on.
    pub async fn redis_now_ms(&self) -> i64 {
        let (secs, micros): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut self.redis.raw().await)
            .await
            .unwrap();
        secs * 1000 + micros / 1000
    }

    /// The kinds of `sku`'s newest `limit` movements, newest first.
    pub async fn movement_kinds(&self, sku: &str, limit: usize) -> Vec<String> {
        let (status, moves) = self.get(&format!("/v1/skus/{sku}/movements?limit={limit}")).await;
        assert_eq!(status, 200, "{moves}");
        let kinds = moves["movements"].as_array().unwrap().iter();
        kinds.map(|m| m["kind"].as_str().unwrap().to_owned()).collect()
    }

    /// What each customer took of `sku` with a sale limit (`u:USER`, `h:USER`).
    pub async fn customer_counts(&self, sku: &str) -> std::collections::HashMap<String, i64> {
        let sku = stockwatch::domain::Sku::parse(sku).unwrap();
        redis::cmd("HGETALL")
            .arg(self.store.keys().customers(&sku))
            .query_async(&mut self.redis.raw().await)
            .await
            .unwrap()
    }
}

/// An instant (epoch ms) as the API takes it: RFC 3339, UTC.
pub fn rfc3339(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// One counter of one location of a stock object.
pub fn at_location(stock: &Value, location: &str, counter: &str) -> i64 {
    let places = stock["locations"].as_array().unwrap();
    places.iter().find(|p| p["location"] == location).unwrap()[counter]
        .as_i64()
        .unwrap()
}
