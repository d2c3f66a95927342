//! What a process does for the ledger's projectors besides writing entries: it lists each
//! slot before its first entry (so a projector's full pass finds every feed), and after
//! commits it hints which slots were written (so projectors look there first, not at all).

use super::Store;
use super::holds::Listed;
use crate::error::StoreError;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// How long the hint sender gathers slots before one SADD: many commits, one write.
const HINT_GATHER: std::time::Duration = std::time::Duration::from_millis(5);

/// Per-process ledger state of a store.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    /// Slots listed in `sw:ledger:slots` lately.
    listed: Listed,
    /// Slots committed to since the last hint was sent.
    pending: Arc<Mutex<BTreeSet<u16>>>,
    /// Wakes the hint sender.
    wake: Arc<tokio::sync::Notify>,
    /// Whether the hint sender runs (started on the first hint).
    started: std::sync::OnceLock<()>,
}

impl Store {
    /// The feed a change in `slot` writes to. On a cluster, its own slot's: a MULTI or a
    /// script must stay in one slot. On one server nothing forces that, so every change
    /// writes the one feed of slot 0: a projector then reads thousands of changes with one
    /// command instead of one command per slot (BENCHMARKS.md has the difference).
    pub fn feed_slot(&self, slot: u16) -> u16 {
        if self.is_cluster() { slot } else { 0 }
    }

    /// Lists `slot` for the projectors before a step writes a ledger entry there; a no-op
    /// when the ledger is off.
    pub async fn list_journal_slot(&self, slot: u16) -> Result<(), StoreError> {
        if !self.config.journal {
            return Ok(());
        }
        self.inner
            .journal
            .listed
            .list(self, self.inner.keys.ledger_slots(), self.feed_slot(slot))
            .await
    }

    /// After a commit that wrote ledger entries in `slots`: hints the projectors. Sent in
    /// the background, gathered over a few ms. A lost hint costs only time: a projector's
    /// full pass reads every listed slot.
    pub fn journal_written(&self, slots: impl IntoIterator<Item = u16>) {
        if !self.config.journal {
            return;
        }
        let journal = &self.inner.journal;
        journal
            .pending
            .lock()
            .expect("not poisoned")
            .extend(slots.into_iter().map(|s| self.feed_slot(s)));
        journal.started.get_or_init(|| {
            // The sender holds the store weakly, so dropping the store ends it.
            let (inner, config) = (Arc::downgrade(&self.inner), self.config.clone());
            let redis = Arc::downgrade(&self.redis);
            let (wake, pending) = (journal.wake.clone(), journal.pending.clone());
            tokio::spawn(async move {
                loop {
                    wake.notified().await;
                    tokio::time::sleep(HINT_GATHER).await;
                    let slots = std::mem::take(&mut *pending.lock().expect("not poisoned"));
                    let (Some(inner), Some(redis)) = (inner.upgrade(), redis.upgrade()) else {
                        return;
                    };
                    let store = Store {
                        inner,
                        config: config.clone(),
                        redis,
                    };
                    store.send_hints(slots).await;
                }
            });
        });
        journal.wake.notify_one();
    }

    async fn send_hints(&self, slots: BTreeSet<u16>) {
        if slots.is_empty() {
            return;
        }
        let hint = redis::cmd("SADD")
            .arg(self.inner.keys.ledger_dirty())
            .arg(slots.into_iter().collect::<Vec<_>>())
            .to_owned();
        if let Err(e) = self.query::<i64>(&hint).await {
            tracing::debug!(error = %e, "ledger hint lost; the projectors' full pass covers it");
        }
    }
}
