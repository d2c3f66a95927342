//! `stockwatch soak`: a mixed workload against a running server for a long time, to show
//! what only time shows: memory growth, tail latency drifting, holds piling up, invariants
//! eroding.
//!
//! Each of `concurrency` clients loops until the deadline, picking per call: purchases on a
//! few hot SKUs and many cold ones, multi-line carts, and reservations with short TTLs that
//! are then confirmed, cancelled or abandoned (the expiry worker releases those). Strategies
//! are mixed (`watch` and `lua`). Hot SKUs are restocked as they run low, so refusals stay
//! a minority. The report: requests by status and code, p50/p99 per time window, the
//! server's RSS at the start, after warm-up and at the end (from `/metrics`), holds released
//! by expiry, and a final `verify`.

use crate::ToolError;
use crate::bench::Percentiles;
use hdrhistogram::Histogram;
use rand::Rng;
use rand::seq::IndexedRandom;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `http://host:port` of a running `stockwatch serve`.
    pub target: String,
    /// Admin token of the server, if it has one (to set and restock stock).
    pub admin_token: Option<SecretString>,
    /// How long to run.
    pub duration: Duration,
    /// Clients in flight (closed loop).
    pub concurrency: usize,
    /// Length of one latency window in the report.
    pub window: Duration,
    /// Time excluded from the RSS-growth figure, while caches and pools fill.
    pub warm_up: Duration,
    /// Hot SKUs (most traffic) and cold ones.
    pub hot_skus: usize,
    /// Cold SKUs.
    pub cold_skus: usize,
}

/// One latency window.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Seconds since the start, at the window's end.
    pub at_s: u64,
    /// Requests answered in the window.
    pub requests: u64,
    /// Latency percentiles, milliseconds.
    pub latency_ms: Percentiles,
}

/// The soak's findings.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Seconds actually run.
    pub elapsed_s: f64,
    /// Requests by `status` or `status code` (e.g. `409 insufficient_stock`).
    pub statuses: BTreeMap<String, u64>,
    /// Requests per second over the run.
    pub requests_per_s: f64,
    /// p50/p99 over time.
    pub windows: Vec<Window>,
    /// The server's resident memory at the start, MiB.
    pub rss_start_mib: f64,
    /// After warm-up, MiB.
    pub rss_warm_mib: f64,
    /// At the end, MiB.
    pub rss_end_mib: f64,
    /// Growth from warm-up to the end, percent.
    pub rss_growth_pct: f64,
    /// Holds released by the server's expiry worker during the run.
    pub holds_expired: u64,
    /// 5xx answers other than `503 contention` (the target is 0).
    pub server_errors: u64,
}

impl Report {
    /// The targets: no 5xx but `503 contention`, RSS growth under 10% after warm-up.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.server_errors > 0 {
            out.push(format!("{} 5xx answers other than 503 contention", self.server_errors));
        }
        if self.rss_growth_pct >= 10.0 {
            out.push(format!(
                "RSS grew {:.1}% after warm-up (target < 10%)",
                self.rss_growth_pct
            ));
        }
        out
    }
}

struct Shared {
    statuses: Mutex<BTreeMap<String, u64>>,
    window: Mutex<Histogram<u64>>,
}

/// Runs the soak. `progress` is told the seconds elapsed, once per second.
pub async fn run(plan: &Plan, progress: impl Fn(u64)) -> Result<Report, ToolError> {
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()?;
    let api = Api {
        client,
        base: plan.target.trim_end_matches('/').to_owned(),
        token: plan.admin_token.clone(),
    };
    let hot: Vec<String> = (0..plan.hot_skus.max(1)).map(|i| format!("soak-hot-{i}")).collect();
    let cold: Vec<String> = (0..plan.cold_skus.max(1)).map(|i| format!("soak-cold-{i}")).collect();
    for sku in &hot {
        api.admin("PUT", &format!("/v1/skus/{sku}/stock"), json!({"available": 5_000}))
            .await?;
    }
    for sku in &cold {
        api.admin("PUT", &format!("/v1/skus/{sku}/stock"), json!({"available": 1_000}))
            .await?;
    }
    let rss_start = api.metric("stockwatch_process_resident_memory_bytes").await?;
    let expired_start = api.metric("stockwatch_expiry_released_total").await?;
    let shared = Arc::new(Shared {
        statuses: Mutex::default(),
        window: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")),
    });
    let started = Instant::now();
    let deadline = started + plan.duration;
    let clients: Vec<_> = (0..plan.concurrency.max(1))
        .map(|_| {
            let (api, shared, hot, cold) = (api.clone(), shared.clone(), hot.clone(), cold.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    one_call(&api, &shared, &hot, &cold).await;
                }
            })
        })
        .collect();
    let mut windows = Vec::new();
    let mut rss_warm = None;
    let mut next_window = started + plan.window;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        progress(started.elapsed().as_secs());
        if rss_warm.is_none() && started.elapsed() >= plan.warm_up {
            rss_warm = Some(api.metric("stockwatch_process_resident_memory_bytes").await?);
        }
        if Instant::now() >= next_window {
            next_window += plan.window;
            windows.push(close_window(&shared, started));
        }
    }
    for c in clients {
        c.await.map_err(|e| format!("a soak client failed: {e}"))?;
    }
    if !shared.window.lock().expect("not poisoned").is_empty() {
        windows.push(close_window(&shared, started));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rss_end = api.metric("stockwatch_process_resident_memory_bytes").await?;
    let rss_warm = rss_warm.unwrap_or(rss_start);
    let expired_end = api.metric("stockwatch_expiry_released_total").await?;
    let statuses = shared.statuses.lock().expect("not poisoned").clone();
    let total: u64 = statuses.values().sum();
    let server_errors = statuses
        .iter()
        .filter(|(k, _)| k.starts_with('5') && k.as_str() != "503 contention")
        .map(|(_, n)| n)
        .sum();
    let mib = |b: f64| b / (1024.0 * 1024.0);
    Ok(Report {
        elapsed_s: elapsed,
        requests_per_s: total as f64 / elapsed.max(1e-9),
        statuses,
        windows,
        rss_start_mib: mib(rss_start),
        rss_warm_mib: mib(rss_warm),
        rss_end_mib: mib(rss_end),
        rss_growth_pct: if rss_warm > 0.0 {
            100.0 * (rss_end - rss_warm) / rss_warm
        } else {
            0.0
        },
        holds_expired: crate::convert::u64_from_f64(expired_end - expired_start),
        server_errors,
    })
}

fn close_window(shared: &Shared, started: Instant) -> Window {
    let mut h = shared.window.lock().expect("not poisoned");
    let window = Window {
        at_s: started.elapsed().as_secs(),
        requests: h.len(),
        latency_ms: Percentiles::of(&h),
    };
    h.reset();
    window
}

/// The HTTP side of the soak.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<SecretString>,
}

impl Api {
    async fn admin(&self, method: &str, path: &str, body: Value) -> Result<(), ToolError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut req = self.client.request(method, format!("{}{path}", self.base)).json(&body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose_secret());
        }
        let res = req.send().await.map_err(|e| format!("{path}: {e}"))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("{path}: {}", res.status()).into())
        }
    }

    /// One un-labelled sample of `/metrics`.
    async fn metric(&self, name: &str) -> Result<f64, ToolError> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .map_err(|e| format!("/metrics: {e}"))?
            .text()
            .await?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0))
    }

    /// Sends one call; returns its status, its error code (if any) and its body.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, String, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let json: Value = res.json().await.unwrap_or(Value::Null);
                let code = json["error"].as_str().unwrap_or_default().to_owned();
                (status, code, json)
            }
            Err(e) if e.is_timeout() => (0, "client_timeout".into(), Value::Null),
            Err(_) => (0, "transport_error".into(), Value::Null),
        }
    }
}

/// Picks and sends one call of the mix, and records it.
async fn one_call(api: &Api, shared: &Shared, hot: &[String], cold: &[String]) {
    let (pick, strategy, sku, cart, ttl, fate) = {
        let mut rng = rand::rng();
        let pick: u32 = rng.random_range(0..100);
        let strategy = if rng.random_bool(0.7) { "watch" } else { "lua" };
        let sku = if rng.random_bool(0.65) {
            hot.choose(&mut rng)
        } else {
            cold.choose(&mut rng)
        }
        .expect("non-empty")
        .clone();
        let lines = rng.random_range(2..=4usize);
        let mut cart: Vec<String> = cold.choose_multiple(&mut rng, lines).cloned().collect();
        cart[0] = hot.choose(&mut rng).expect("non-empty").clone();
        (
            pick,
            strategy,
            sku,
            cart,
            rng.random_range(1..=3u32),
            rng.random_range(0..100u32),
        )
    };
    let items: Vec<Value> = cart.iter().map(|s| json!({"sku": s, "quantity": 1})).collect();
    let started = Instant::now();
    let (status, code, body) = match pick {
        0..=34 => {
            let body = json!({"sku": sku, "quantity": 1, "user_id": "soak"});
            api.call(
                reqwest::Method::POST,
                &format!("/v1/purchases?strategy={strategy}"),
                Some(body),
            )
            .await
        }
        35..=49 => {
            let body = json!({"user_id": "soak", "items": items});
            api.call(
                reqwest::Method::POST,
                &format!("/v1/checkouts?strategy={strategy}"),
                Some(body),
            )
            .await
        }
        50..=84 => {
            let body = json!({"user_id": "soak", "items": items, "ttl_seconds": ttl});
            api.call(
                reqwest::Method::POST,
                &format!("/v1/reservations?strategy={strategy}"),
                Some(body),
            )
            .await
        }
        _ => api.call(reqwest::Method::GET, &format!("/v1/skus/{sku}"), None).await,
    };
    record(shared, status, &code, started);
    // A hold: confirm 35%, cancel 20%, walk away 45% (the expiry worker releases it).
    if let Some(id) = body["reservation_id"].as_str().filter(|_| status == 201) {
        let action = match fate {
            0..=34 => Some("confirm"),
            35..=54 => Some("cancel"),
            _ => None,
        };
        if let Some(action) = action {
            let started = Instant::now();
            let (status, code, _) = api
                .call(reqwest::Method::POST, &format!("/v1/reservations/{id}/{action}"), None)
                .await;
            record(shared, status, &code, started);
        }
    }
    // Keep hot SKUs selling: a delivery arrives when one runs out.
    if status == 409 && code == "insufficient_stock" && pick < 35 {
        let _ = api
            .admin("POST", &format!("/v1/skus/{sku}/restock"), json!({"quantity": 2_000}))
            .await;
    }
}

fn record(shared: &Shared, status: u16, code: &str, started: Instant) {
    let key = if code.is_empty() {
        status.to_string()
    } else {
        format!("{status} {code}")
    };
    *shared.statuses.lock().expect("not poisoned").entry(key).or_default() += 1;
    let us = started.elapsed().as_micros().clamp(1, 60_000_000) as u64;
    let _ = shared.window.lock().expect("not poisoned").record(us);
}

/// The report as a table.
pub fn print(report: &Report) {
    println!(
        "soak: {:.0} s, {:.0} requests/s",
        report.elapsed_s, report.requests_per_s
    );
    println!("\nrequests by status:");
    for (k, n) in &report.statuses {
        println!("  {k:<36} {n:>10}");
    }
    println!("\nlatency over time (ms):");
    println!(
        "  {:>6} {:>9} {:>8} {:>8} {:>8}",
        "at s", "requests", "p50", "p99", "p99.9"
    );
    for w in &report.windows {
        println!(
            "  {:>6} {:>9} {:>8.2} {:>8.2} {:>8.2}",
            w.at_s, w.requests, w.latency_ms.p50, w.latency_ms.p99, w.latency_ms.p999
        );
    }
    println!(
        "\nserver RSS: {:.1} MiB at start, {:.1} MiB after warm-up, {:.1} MiB at the end ({:+.1}%)",
        report.rss_start_mib, report.rss_warm_mib, report.rss_end_mib, report.rss_growth_pct
    );
    println!("holds released by the expiry worker: {}", report.holds_expired);
}
