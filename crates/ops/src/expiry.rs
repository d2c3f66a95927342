//! The expiry worker: releases holds whose deadline has passed.
//!
//! A hold is indexed in a ZSET of its own cluster slot, scored by `expires_at`, because the
//! index is written in the hold's own transaction. Two small keys steer the workers to the
//! slots that matter (see the core crate's `keys` module):
//! - the set of listed slots, which a slot joins *before* its first hold, so it is never
//!   missing a slot with holds;
//! - the schedule (`expiry:due`), lowered to each hold's deadline *after* it commits, in
//!   the background (one write for the holds committed together: `Store::hold_added`). A
//!   worker parks a slot's entry far ahead before sweeping it, then lowers it to the head
//!   it leaves, so a hold committed during a sweep is either seen by the sweep or lowers
//!   the entry itself.
//!
//! Each round sweeps only the slots the schedule says are due, so its cost follows the
//! holds, not the slots in use. A full pass over every listed slot runs at start and every
//! [`ExpiryConfig::full_pass`]: it is the backstop for a writer that died between its
//! commit and its schedule write, and it rebuilds a lost schedule.
//!
//! Releases are optimistic transactions ([`crate::expire`]) that watch the reservation, so
//! any number of workers (in `serve`, or alone as `stockwatch expiry-worker`) can race each
//! other and racing confirms or cancels: each hold still ends once. A worker killed
//! mid-batch loses nothing: what it did not release is still indexed.
//!
//! Between rounds it sleeps until the schedule's next entry or the poll interval, whichever
//! comes first, and a hold added in this process that is due sooner wakes it early.

use crate::Inventory;
use crate::convert;
use crate::domain::ReservationId;
use crate::error::Error;
use crate::{Expired, expire, now_ms};
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
    /// How often every listed slot is swept, due or not (default 30 s): the bound on a
    /// release delayed by a writer that died before scheduling its hold.
    pub full_pass: Duration,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(250),
            batch: 200,
            concurrency: 16,
            full_pass: Duration::from_secs(30),
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
    /// Due entries that could not be released this time (errors, contention).
    pub failed: usize,
    /// Latest release relative to its deadline, ms.
    pub max_lag_ms: i64,
}

/// Runs the worker until `shutdown` completes. Redis errors are logged and retried after
/// the poll interval; they never stop the worker.
pub async fn run(store: Inventory, config: ExpiryConfig, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let signal = store.expiry_signal();
    let poll_ms = convert::millis_i64(config.poll);
    tracing::info!(poll_ms, batch = config.batch, "expiry worker started");
    let mut next_full = tokio::time::Instant::now();
    loop {
        let round = if tokio::time::Instant::now() >= next_full {
            next_full = tokio::time::Instant::now() + config.full_pass;
            sweep(&store, &config).await
        } else {
            sweep_due(&store, &config).await
        };
        let stalled = match round {
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
        // Announce the latest we would sleep to *before* reading the schedule, so a hold added
        // in between either shows up in the read or wakes us.
        let now = now_ms();
        let latest = now + poll_ms;
        signal.next_wake_ms.store(latest, Ordering::Release);
        let wake_at = match (stalled, next_deadline(&store).await) {
            (false, Ok(Some(head))) => head.clamp(now, latest),
            _ => latest,
        };
        let nap = tokio::time::sleep(Duration::from_millis(convert::u64_of(wake_at - now)));
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

/// The slots whose expiry index may hold entries.
async fn listed(store: &Inventory) -> Result<Vec<u16>, Error> {
    Ok(store
        .query(redis::cmd("SMEMBERS").arg(store.keys().expiry_slots()))
        .await?)
}

/// The slots the schedule says are due now.
async fn due(store: &Inventory) -> Result<Vec<u16>, Error> {
    Ok(store
        .query(
            redis::cmd("ZRANGE")
                .arg(store.keys().expiry_due())
                .arg("-inf")
                .arg(now_ms())
                .arg("BYSCORE")
                .arg("LIMIT")
                .arg(0)
                .arg(SLOTS_PER_ROUND),
        )
        .await?)
}

/// Slots swept at once: each sweep's reads and releases are small, so a few in flight keep
/// a cluster's masters busy without flooding one.
const SLOTS_IN_FLIGHT: usize = 8;
/// Most due slots taken from the schedule per round.
const SLOTS_PER_ROUND: usize = 512;

/// The full pass: releases everything due now in every listed slot, and rebuilds each
/// slot's schedule entry. Tests and the backstop use it.
pub async fn sweep(store: &Inventory, config: &ExpiryConfig) -> Result<Sweep, Error> {
    sweep_slots(store, config, listed(store).await?).await
}

/// One round: releases what is due in the slots the schedule names.
pub async fn sweep_due(store: &Inventory, config: &ExpiryConfig) -> Result<Sweep, Error> {
    sweep_slots(store, config, due(store).await?).await
}

async fn sweep_slots(store: &Inventory, config: &ExpiryConfig, slots: Vec<u16>) -> Result<Sweep, Error> {
    let swept: Vec<Result<Sweep, Error>> = futures_util::stream::iter(slots)
        .map(|slot| sweep_and_reschedule(store, config, slot))
        .buffer_unordered(SLOTS_IN_FLIGHT)
        .collect()
        .await;
    let mut total = Sweep::default();
    for sweep in swept {
        let sweep = sweep?;
        total.released += sweep.released;
        total.cleaned += sweep.cleaned;
        total.failed += sweep.failed;
        total.max_lag_ms = total.max_lag_ms.max(sweep.max_lag_ms);
    }
    Ok(total)
}

/// Sweeps one slot and leaves its schedule entry at its new head. The entry is parked
/// ahead first: a hold committed after that lowers it itself, and one committed before is
/// in the head read below.
async fn sweep_and_reschedule(store: &Inventory, config: &ExpiryConfig, slot: u16) -> Result<Sweep, Error> {
    let due = store.keys().expiry_due();
    let parked = now_ms() + convert::millis_i64(config.full_pass);
    let _: i64 = store.query(redis::cmd("ZADD").arg(&due).arg(parked).arg(slot)).await?;
    let swept = sweep_slot(store, config, slot).await?;
    let retry_at = (swept.failed > 0).then(|| now_ms() + convert::millis_i64(config.poll));
    match (head(store, slot).await?, retry_at) {
        (Some(at), retry) => lower(store, slot, retry.map_or(at, |r| r.min(at))).await?,
        // Empty: drop the entry, then look again, since a hold may have been indexed and
        // scheduled between the read and the drop.
        (None, _) => {
            let _: i64 = store.query(redis::cmd("ZREM").arg(&due).arg(slot)).await?;
            if let Some(at) = head(store, slot).await? {
                lower(store, slot, at).await?;
            }
        }
    }
    Ok(swept)
}

/// The earliest deadline in one slot's index.
async fn head(store: &Inventory, slot: u16) -> Result<Option<i64>, Error> {
    let head: Vec<(String, f64)> = store
        .query(
            redis::cmd("ZRANGE")
                .arg(store.keys().expiry(slot))
                .arg(0)
                .arg(0)
                .arg("WITHSCORES"),
        )
        .await?;
    Ok(head.first().map(|(_, score)| convert::i64_from_f64(*score)))
}

/// Lowers a slot's schedule entry to `at` (never raises it: a writer may have lowered it).
async fn lower(store: &Inventory, slot: u16, at: i64) -> Result<(), Error> {
    let _: i64 = store
        .query(
            redis::cmd("ZADD")
                .arg(store.keys().expiry_due())
                .arg("LT")
                .arg(at)
                .arg(slot),
        )
        .await?;
    Ok(())
}

/// Releases everything due now in one slot's index, batch by batch. Stops when no due
/// entry is left, or when a batch made no progress (so a stuck entry cannot spin it).
async fn sweep_slot(store: &Inventory, config: &ExpiryConfig, slot: u16) -> Result<Sweep, Error> {
    let mut total = Sweep::default();
    loop {
        let due: Vec<String> = store
            .query(
                redis::cmd("ZRANGE")
                    .arg(store.keys().expiry(slot))
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
            .map(|id| release(store, slot, id))
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
                Ok(Expired::AlreadyEnded | Expired::Missing | Expired::PartOutcome) => total.cleaned += 1,
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

async fn release(store: &Inventory, slot: u16, id: String) -> Result<Expired, Error> {
    match ReservationId::parse(&id) {
        Some(id) => expire(store, &id).await,
        // A cross-slot order's return whose other slots were left pending.
        None if let Some((order, ret)) = crate::after_sale::parse_member(&id) => {
            crate::after_sale::settle_return(store, &order, &ret).await?;
            Ok(Expired::PartOutcome)
        }
        None => {
            // Only stockwatch writes this ZSET; a foreign member is removed, not retried forever.
            tracing::warn!(member = %id, "removing a foreign member from the expiry index");
            let _: i64 = store
                .query(redis::cmd("ZREM").arg(store.keys().expiry(slot)).arg(&id))
                .await?;
            Ok(Expired::Missing)
        }
    }
}

/// The schedule's earliest entry, if any.
async fn next_deadline(store: &Inventory) -> Result<Option<i64>, Error> {
    let head: Vec<(String, f64)> = store
        .query(
            redis::cmd("ZRANGE")
                .arg(store.keys().expiry_due())
                .arg(0)
                .arg(0)
                .arg("WITHSCORES"),
        )
        .await?;
    Ok(head.first().map(|(_, score)| convert::i64_from_f64(*score)))
}
