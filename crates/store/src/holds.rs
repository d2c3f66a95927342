//! What a process knows of holds: how a new one wakes the local expiry worker, and which
//! slots it listed for every worker lately.

use super::Store;
use super::gather::{Gather, Gathered};
use crate::error::StoreError;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// How often a slot in use is listed again for the expiry worker: were the set lost (a
/// FLUSHALL while running), holds of a busy slot are found again within this time.
const EXPIRY_SLOT_REFRESH_S: u64 = 10;

/// How a new hold reaches a sleeping expiry worker in the same process.
#[derive(Debug)]
pub struct ExpirySignal {
    /// Woken when a hold due before `next_wake_ms` is added.
    pub notify: tokio::sync::Notify,
    /// When the worker plans to wake next (epoch ms); `i64::MAX` when it is not sleeping.
    pub next_wake_ms: std::sync::atomic::AtomicI64,
}

/// The per-process state behind [`Store::hold_added`] and [`Store::index_expiry_slot`].
#[derive(Debug)]
pub(crate) struct Holds {
    /// Wakes this process's expiry worker when a hold due sooner than its next wake is added.
    signal: ExpirySignal,
    /// When this process last added each slot to the expiry worker's set (epoch s; 0:
    /// never), so a hold costs that extra write once per slot per [`EXPIRY_SLOT_REFRESH_S`].
    listed: Listed,
    /// New holds' deadlines not yet in the workers' schedule.
    due: Gather<Due>,
}

/// The earliest new deadline per slot, for the workers' schedule.
#[derive(Debug, Default)]
struct Due(BTreeMap<u16, i64>);

impl Gathered for Due {
    /// None: the holds of a batch, answered together, report before their send.
    const GATHER: std::time::Duration = std::time::Duration::ZERO;

    fn of(store: &Store) -> &Gather<Self> {
        &store.inner.holds.due
    }

    /// Lowers every gathered slot's entry in one `ZADD … LT`, then wakes this process's
    /// worker if it planned to sleep past the earliest: after the write, so the schedule it
    /// reads on waking has it.
    async fn send(self, store: Store) {
        let Some(&earliest) = self.0.values().min() else {
            return;
        };
        let mut hint = redis::cmd("ZADD");
        hint.arg(store.inner.keys.expiry_due()).arg("LT");
        for (slot, at) in &self.0 {
            hint.arg(at).arg(slot);
        }
        if let Err(e) = store.query::<i64>(&hint).await {
            tracing::warn!(error = %e, slots = self.0.len(), "could not schedule holds; the worker's full pass will find them");
        }
        let signal = &store.inner.holds.signal;
        if earliest < signal.next_wake_ms.load(Ordering::Acquire) {
            signal.notify.notify_one();
        }
    }
}

/// When this process last listed each slot in some set of slots (epoch s; 0: never), so a
/// write costs the extra SADD once per slot per [`EXPIRY_SLOT_REFRESH_S`]. Were the set
/// lost (a FLUSHALL while running), a busy slot is listed again within that time.
#[derive(Debug)]
pub(crate) struct Listed(Box<[AtomicU64]>);

impl Default for Listed {
    fn default() -> Self {
        Self((0..crate::keys::SLOTS).map(|_| AtomicU64::new(0)).collect())
    }
}

impl Listed {
    /// Adds `slot` to the set `key` unless this process did so lately.
    pub(crate) async fn list(&self, store: &Store, key: String, slot: u16) -> Result<(), StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let listed = &self.0[usize::from(slot % crate::keys::SLOTS)];
        if now.saturating_sub(listed.load(Ordering::Relaxed)) < EXPIRY_SLOT_REFRESH_S {
            return Ok(());
        }
        let _: i64 = store.query(redis::cmd("SADD").arg(key).arg(slot)).await?;
        listed.store(now, Ordering::Relaxed);
        Ok(())
    }
}

impl Default for Holds {
    fn default() -> Self {
        Self {
            signal: ExpirySignal {
                notify: tokio::sync::Notify::new(),
                next_wake_ms: AtomicI64::new(i64::MAX),
            },
            listed: Listed::default(),
            due: Gather::default(),
        }
    }
}

impl Store {
    /// Lists `slot` in the expiry worker's set of slots. Called before a hold is taken in
    /// it, so the set is never missing a slot with holds: the worker sweeps only listed slots.
    pub async fn index_expiry_slot(&self, slot: u16) -> Result<(), StoreError> {
        self.inner
            .holds
            .listed
            .list(self, self.inner.keys.expiry_slots(), slot)
            .await
    }

    /// The expiry worker's wake-up signal.
    pub fn expiry_signal(&self) -> &ExpirySignal {
        &self.inner.holds.signal
    }

    /// After a hold in `slot` due at `expires_at` committed: lowers the slot's entry in the
    /// workers' schedule (every process's workers read it) and wakes this process's worker
    /// if it planned to sleep past that. One write for the holds committed together (a
    /// batch's; `gather`), sent in the background: the hold is answered without waiting for
    /// it. A write that never lands delays nothing for long: the worker's full pass finds
    /// every listed slot's holds.
    pub fn hold_added(&self, slot: u16, expires_at: i64) {
        self.inner.holds.due.report(self, |due| {
            let at = due.0.entry(slot).or_insert(expires_at);
            *at = (*at).min(expires_at);
        });
    }
}
