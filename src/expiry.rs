//! The expiry worker: releases holds whose deadline has passed.
//!
//! Active reservations sit in one ZSET scored by `expires_at`. The worker takes due ids in
//! bounded batches and releases each in its own optimistic transaction ([`ops::expire`]),
//! which watches the reservation. So any number of workers (in `serve`, or alone as
//! `stockwatch expiry-worker`) can race each other and racing confirms or cancels: each
//! hold still ends once. A worker killed mid-batch loses nothing: what it did not release
//! is still in the ZSET, and the next worker to start drains that backlog first.
//!
//! Between sweeps it sleeps until the next deadline or the poll interval, whichever comes
//! first, and a hold added in this process that is due sooner wakes it early. It never
//! sleeps past a deadline by more than the poll interval, and it does not spin.

use crate::domain::ReservationId;
use crate::error::Error;
use crate::ops::{self, Expired, now_ms};
use crate::store::Store;
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct ExpiryConfig {
    /// Longest sleep between sweeps (default 250 ms): the bound on how late a release can
    /// be when the deadline was not known in this process.
    pub poll: Duration,
    /// Most due ids taken from the ZSET per step (default 200), so one sweep never holds a
    /// huge reply or starves other clients.
    pub batch: usize,
    /// Releases in flight at once (default 16); each uses a pooled connection.
    pub concurrency: usize,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(250),
            batch: 200,
            concurrency: 16,
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Holds released by this worker.
    pub released: usize,
    /// Due entries found already ended (another worker, a confirm or a cancel got there
    /// first) or stray, and removed.
    pub cleaned: usize,
    /// Due entries that could not be settled this time (errors, contention).
    pub failed: usize,
    /// Latest release relative to its deadline, ms.
    pub max_lag_ms: i64,
}

/// Runs the worker until `shutdown` completes. Redis errors are logged and retried after
/// the poll interval; they never stop the worker.
pub async fn run(store: Store, config: ExpiryConfig, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let signal = store.expiry_signal();
    let poll_ms = config.poll.as_millis() as i64;
    tracing::info!(poll_ms, batch = config.batch, "expiry worker started");
    loop {
        let stalled = match sweep(&store, &config).await {
            Ok(s) => {
                if s.released > 0 || s.failed > 0 {
                    tracing::info!(
                        released = s.released,
                        cleaned = s.cleaned,
                        failed = s.failed,
                        max_lag_ms = s.max_lag_ms,
                        "expiry sweep"
                    );
                }
                s.failed > 0
            }
            Err(e) => {
                if let Error::Store(e) = &e {
                    store.metrics().redis_error(e);
                }
                tracing::warn!(error = %e, "expiry sweep failed; retrying after the poll interval");
                true
            }
        };
        // Announce the latest we would sleep to *before* reading the head, so a hold added
        // in between either shows up in the read or wakes us.
        let now = now_ms();
        let latest = now + poll_ms;
        signal.next_wake_ms.store(latest, Ordering::Release);
        let wake_at = match (stalled, next_deadline(&store).await) {
            (false, Ok(Some(head))) => head.clamp(now, latest),
            _ => latest,
        };
        let nap = tokio::time::sleep(Duration::from_millis((wake_at - now).max(0) as u64));
        tokio::select! {
            () = &mut shutdown => break,
            () = nap => {}
            () = signal.notify.notified() => {}
        }
        signal.next_wake_ms.store(now_ms(), Ordering::Release);
    }
    signal.next_wake_ms.store(i64::MAX, Ordering::Release);
    tracing::info!("expiry worker stopped");
}

/// Releases everything due now, batch by batch, and returns what it did. Stops when no
/// due entry is left, or when a batch made no progress (so a stuck entry cannot spin it).
pub async fn sweep(store: &Store, config: &ExpiryConfig) -> Result<Sweep, Error> {
    let mut total = Sweep::default();
    loop {
        let due: Vec<String> = store
            .query(
                redis::cmd("ZRANGE")
                    .arg(store.keys().expiry())
                    .arg("-inf")
                    .arg(now_ms())
                    .arg("BYSCORE")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(config.batch.max(1)),
            )
            .await?;
        if due.is_empty() {
            return Ok(total);
        }
        let full = due.len() >= config.batch.max(1);
        store.metrics().expiry_batch(due.len());
        let results: Vec<Result<Expired, Error>> = futures_util::stream::iter(due)
            .map(|id| release(store, id))
            .buffer_unordered(config.concurrency.max(1))
            .collect()
            .await;
        let before = total.released + total.cleaned;
        for result in results {
            match result {
                Ok(Expired::Released { lag_ms }) => {
                    store.metrics().expiry_released(lag_ms);
                    total.released += 1;
                    total.max_lag_ms = total.max_lag_ms.max(lag_ms);
                }
                Ok(Expired::AlreadyEnded | Expired::Missing) => total.cleaned += 1,
                // Extended by a writer whose clock runs behind ours; it is due later.
                Ok(Expired::NotDue) => total.failed += 1,
                Err(e) => {
                    if let Error::Store(e) = &e {
                        store.metrics().redis_error(e);
                    }
                    tracing::warn!(error = %e, "could not release a hold; will retry");
                    total.failed += 1;
                }
            }
        }
        if !full || total.released + total.cleaned == before {
            return Ok(total);
        }
    }
}

async fn release(store: &Store, id: String) -> Result<Expired, Error> {
    match ReservationId::parse(&id) {
        Some(id) => ops::expire(store, &id).await,
        None => {
            // Only stockwatch writes this ZSET; a foreign member is removed, not retried forever.
            tracing::warn!(member = %id, "removing a foreign member from the expiry index");
            let _: i64 = store
                .query(redis::cmd("ZREM").arg(store.keys().expiry()).arg(&id))
                .await?;
            Ok(Expired::Missing)
        }
    }
}

/// The earliest deadline in the index, if any.
async fn next_deadline(store: &Store) -> Result<Option<i64>, Error> {
    let head: Vec<(String, f64)> = store
        .query(
            redis::cmd("ZRANGE")
                .arg(store.keys().expiry())
                .arg(0)
                .arg(0)
                .arg("WITHSCORES"),
        )
        .await?;
    Ok(head.first().map(|(_, score)| *score as i64))
}
