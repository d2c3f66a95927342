//! What a process does for the ledger's projectors besides writing entries: it lists each
//! slot before its first entry (so a projector's full pass finds every feed), and after
//! commits it hints which slots were written (so projectors look there first, not at all).

use super::Store;
use super::gather::{Gather, Gathered};
use super::holds::Listed;
use crate::error::StoreError;
use std::collections::BTreeSet;

/// Per-process ledger state of a store.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    /// Slots listed in `sw:ledger:slots` lately.
    listed: Listed,
    /// Slots committed to since the last hint was sent.
    hints: Gather<Hints>,
}

/// Slots written since the last hint.
#[derive(Debug, Default)]
struct Hints(BTreeSet<u16>);

impl Gathered for Hints {
    const GATHER: std::time::Duration = std::time::Duration::from_millis(5);

    fn of(store: &Store) -> &Gather<Self> {
        &store.inner.journal.hints
    }

    async fn send(self, store: Store) {
        if self.0.is_empty() {
            return;
        }
        let hint = redis::cmd("SADD")
            .arg(store.inner.keys.ledger_dirty())
            .arg(self.0.into_iter().collect::<Vec<_>>())
            .to_owned();
        if let Err(e) = store.query::<i64>(&hint).await {
            tracing::debug!(error = %e, "ledger hint lost; the projectors' full pass covers it");
        }
    }
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
        let slots = slots.into_iter().map(|s| self.feed_slot(s));
        self.inner.journal.hints.report(self, |hints| hints.0.extend(slots));
    }
}
