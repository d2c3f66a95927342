//! Prometheus metrics, one registry per [`crate::Store`] (so parallel tests do not share
//! counters), rendered by `GET /metrics`.
//!
//! Every label value comes from a closed set (operation, strategy, route pattern, error
//! kind), never from a SKU, user or id, so the number of series stays bounded.

mod calls;
mod drops;
mod ledger;
pub use drops::DropMetrics;
pub use ledger::LedgerMetrics;

use crate::convert;
use crate::error::StoreError;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::time::Duration;

/// Buckets for "attempts per call": the retry policy's range (1..=max attempts).
const ATTEMPT_BUCKETS: &[f64] = &[1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0, 64.0];
/// Buckets for latencies, seconds: sub-millisecond Redis round trips up to the 2 s timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0,
];
/// Buckets for expiry lag, seconds past the deadline.
const LAG_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0];
/// Buckets for expiry batch sizes.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// The service's metrics. Cheap to share behind the store's `Arc`.
pub struct Metrics {
    registry: Registry,
    /// Calls by operation, strategy and outcome: the denominator of every rate.
    calls: IntCounterVec,
    /// Attempts (a group-commit attempt counts once per buyer it carries).
    attempts: IntCounterVec,
    /// Attempts aborted because a watched key changed.
    conflicts: IntCounterVec,
    /// Calls that ran out of retries.
    giveups: IntCounterVec,
    /// Of those, calls whose retries the store's retry budget refused.
    budget_exhausted: IntCounterVec,
    /// Business refusals by contract code.
    rejections: IntCounterVec,
    /// Attempts each call needed.
    attempts_per_call: HistogramVec,
    /// Wall time of each call, retries and backoff included.
    duration: HistogramVec,
    /// HTTP requests by route pattern, method and status.
    http_requests: IntCounterVec,
    /// HTTP latency by route pattern and method.
    http_duration: HistogramVec,
    /// Holds released by this process's expiry worker.
    expiry_released: IntCounter,
    /// How late each release was, past its deadline.
    expiry_lag: prometheus::Histogram,
    /// Due holds taken per sweep step.
    expiry_batch: prometheus::Histogram,
    /// Takes per group commit, by strategy: where group commit's throughput comes from.
    group_commit: HistogramVec,
    /// Waits for a dedicated connection.
    pool_wait: prometheus::Histogram,
    /// Pool gauges, sampled at scrape time.
    pool_size: IntGauge,
    pool_in_use: IntGauge,
    pool_available: IntGauge,
    pool_waiting: IntGauge,
    /// Redis failures by kind.
    redis_errors: IntCounterVec,
    /// Open `GET /v1/events` streams.
    pub sse_clients: IntGauge,
    /// Webhook deliveries that ran out of retries and became dead letters.
    pub webhook_dead_lettered: IntCounter,
    /// The ledger projector's.
    pub ledger: LedgerMetrics,
    /// Waiting rooms'.
    pub drops: DropMetrics,
    /// Each call's series, found once by label.
    call_handles: calls::Handles,
    /// Totals the bench reads without parsing the text format.
    totals: [std::sync::atomic::AtomicU64; 2],
    /// The same totals, counted as Redis answers each attempt rather than when the call
    /// ends: what a race's timeline samples, so effort shows when it happened.
    live: [std::sync::atomic::AtomicU64; 2],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn histogram_vec(registry: &Registry, name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), labels).expect("valid metric");
    registry.register(Box::new(h.clone())).expect("unique metric");
    h
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: &[f64]) -> prometheus::Histogram {
    let h = prometheus::Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
        .expect("valid metric");
    registry.register(Box::new(h.clone())).expect("unique metric");
    h
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    registry.register(Box::new(g.clone())).expect("unique metric");
    g
}

impl Metrics {
    /// Registers every metric (and the process collector: RSS, CPU, open fds).
    pub fn new() -> Self {
        let r = Registry::new_custom(Some("stockwatch".into()), None).expect("valid prefix");
        let op = &["op", "strategy"];
        #[cfg(target_os = "linux")]
        let _ = r.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()));
        let expiry_released =
            IntCounter::new("expiry_released_total", "Holds released by the expiry worker.").expect("valid metric");
        r.register(Box::new(expiry_released.clone())).expect("unique metric");
        let webhook_dead_lettered = IntCounter::new(
            "webhook_dead_lettered_total",
            "Webhook deliveries that ran out of retries (now dead letters).",
        )
        .expect("valid metric");
        r.register(Box::new(webhook_dead_lettered.clone()))
            .expect("unique metric");
        Self {
            webhook_dead_lettered,
            calls: counter_vec(
                &r,
                "txn_calls_total",
                "Stock-moving calls by outcome.",
                &["op", "strategy", "outcome"],
            ),
            attempts: counter_vec(
                &r,
                "txn_attempts_total",
                "Transaction attempts, first ones included.",
                op,
            ),
            conflicts: counter_vec(
                &r,
                "txn_conflicts_total",
                "Attempts aborted by a conflicting write (EXEC returned nil).",
                op,
            ),
            giveups: counter_vec(
                &r,
                "txn_giveups_total",
                "Calls that ran out of retries (503 contention).",
                op,
            ),
            budget_exhausted: counter_vec(
                &r,
                "retry_budget_exhausted_total",
                "Calls given up because the retry budget was spent (503 contention).",
                op,
            ),
            rejections: counter_vec(
                &r,
                "txn_rejections_total",
                "Business refusals by contract error code.",
                &["op", "strategy", "reason"],
            ),
            attempts_per_call: histogram_vec(
                &r,
                "txn_attempts_per_call",
                "Attempts each call needed.",
                ATTEMPT_BUCKETS,
                op,
            ),
            duration: histogram_vec(
                &r,
                "txn_duration_seconds",
                "Call latency, retries and backoff included.",
                LATENCY_BUCKETS,
                op,
            ),
            http_requests: counter_vec(
                &r,
                "http_requests_total",
                "HTTP requests by route, method and status.",
                &["route", "method", "status"],
            ),
            http_duration: histogram_vec(
                &r,
                "http_request_duration_seconds",
                "HTTP latency by route.",
                LATENCY_BUCKETS,
                &["route", "method"],
            ),
            expiry_released,
            expiry_lag: histogram(
                &r,
                "expiry_lag_seconds",
                "How long after its deadline each hold was released.",
                LAG_BUCKETS,
            ),
            expiry_batch: histogram(
                &r,
                "expiry_batch_size",
                "Due holds taken per expiry step.",
                BATCH_BUCKETS,
            ),
            group_commit: histogram_vec(
                &r,
                "group_commit_batch_size",
                "Takes per group commit (one transaction or one script call).",
                BATCH_BUCKETS,
                &["strategy"],
            ),
            pool_wait: histogram(
                &r,
                "pool_wait_seconds",
                "Time to get a dedicated WATCH connection.",
                LATENCY_BUCKETS,
            ),
            pool_size: gauge(&r, "pool_size", "Dedicated connections open."),
            pool_in_use: gauge(&r, "pool_in_use", "Dedicated connections lent out."),
            pool_available: gauge(&r, "pool_available", "Dedicated connections idle."),
            pool_waiting: gauge(&r, "pool_waiting", "Callers waiting for a dedicated connection."),
            redis_errors: counter_vec(&r, "redis_errors_total", "Redis failures by kind.", &["kind"]),
            sse_clients: gauge(&r, "sse_clients", "Open GET /v1/events streams."),
            ledger: LedgerMetrics::new(&r),
            drops: DropMetrics::new(&r),
            registry: r,
            call_handles: Default::default(),
            totals: Default::default(),
            live: Default::default(),
        }
    }

    /// One attempt that Redis answered, made on behalf of `callers` calls (a group commit
    /// carries many), aborted by a conflict or not.
    pub fn attempt_answered(&self, callers: u32, conflicted: bool) {
        let [a, c] = &self.live;
        a.fetch_add(callers.into(), std::sync::atomic::Ordering::Relaxed);
        if conflicted {
            c.fetch_add(callers.into(), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Attempts and conflicts so far, counted as Redis answered each attempt.
    pub fn live_totals(&self) -> (u64, u64) {
        let [a, c] = &self.live;
        (
            a.load(std::sync::atomic::Ordering::Relaxed),
            c.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Attempts and conflicts of every call so far.
    pub fn totals(&self) -> (u64, u64) {
        let [a, c] = &self.totals;
        (
            a.load(std::sync::atomic::Ordering::Relaxed),
            c.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Records a Redis failure by kind.
    pub fn redis_error(&self, e: &StoreError) {
        self.redis_errors.with_label_values(&[e.kind()]).inc();
    }

    /// Records one answered HTTP request. `route` is the matched pattern (`/v1/skus/{sku}`),
    /// or `unmatched`.
    pub fn http(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[route, method, status.to_string().as_str()])
            .inc();
        self.http_duration
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one sweep step of the expiry worker.
    pub fn expiry_batch(&self, due: usize) {
        self.expiry_batch.observe(due as f64);
    }

    /// Records one group commit of `takes` takes on `strategy`.
    pub fn group_commit(&self, strategy: &str, takes: usize) {
        self.group_commit.with_label_values(&[strategy]).observe(takes as f64);
    }

    /// Group commits so far on `strategy`, and the takes they carried.
    pub fn group_commits(&self, strategy: &str) -> (u64, u64) {
        let h = self.group_commit.with_label_values(&[strategy]);
        (h.get_sample_count(), convert::u64_from_f64(h.get_sample_sum()))
    }

    /// Records one hold released by the expiry worker, `lag_ms` past its deadline.
    pub fn expiry_released(&self, lag_ms: i64) {
        self.expiry_released.inc();
        self.expiry_lag.observe(lag_ms.max(0) as f64 / 1000.0);
    }

    /// Records how long a caller waited for a dedicated connection.
    pub fn pool_wait(&self, waited: Duration) {
        self.pool_wait.observe(waited.as_secs_f64());
    }

    /// The Prometheus text format, with the pool gauges sampled now.
    pub fn render(&self, pool: deadpool_redis::Status) -> String {
        self.pool_size.set(convert::i64_of(pool.size));
        self.pool_available.set(convert::i64_of(pool.available));
        self.pool_in_use
            .set(convert::i64_of(pool.size.saturating_sub(pool.available)));
        self.pool_waiting.set(convert::i64_of(pool.waiting));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into a Vec cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{CallOutcome, Effort};

    #[test]
    fn a_call_moves_its_counters_and_nothing_names_a_sku() {
        let m = Metrics::new();
        let effort = Effort {
            attempts: 3,
            conflicts: 2,
        };
        m.call(
            "purchase",
            "watch",
            CallOutcome::Committed,
            effort,
            Duration::from_millis(4),
        );
        m.call(
            "purchase",
            "watch",
            CallOutcome::Rejected("insufficient_stock"),
            Effort::of(1, 0),
            Duration::from_millis(1),
        );
        let text = m.render(deadpool_redis::Status {
            max_size: 4,
            size: 2,
            available: 1,
            waiting: 0,
        });
        assert!(
            text.contains(r#"stockwatch_txn_attempts_total{op="purchase",strategy="watch"} 4"#),
            "{text}"
        );
        assert!(text.contains(r#"stockwatch_txn_conflicts_total{op="purchase",strategy="watch"} 2"#));
        assert!(text.contains(
            r#"stockwatch_txn_rejections_total{op="purchase",reason="insufficient_stock",strategy="watch"} 1"#
        ));
        assert!(text.contains("stockwatch_pool_in_use 1"));
        assert_eq!(m.totals(), (4, 2));
    }
}
