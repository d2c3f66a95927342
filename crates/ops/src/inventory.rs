//! The handle every operation runs on: the store, and what the operations keep per process
//! beside it (group commit's queues, the alert feed, conflicts per SKU).
//!
//! The store knows nothing of the operations; this is where their state lives, typed. It
//! derefs to the [`Store`], so anything a store does an inventory does too.

use crate::alerts::{ContentionWatch, Follower};
use crate::store::Store;
use crate::take::batch::Combiner;
use std::ops::Deref;
use std::sync::Arc;

/// A [`Store`] with the operations' per-process state. Cheap to clone; make one per
/// process (from its store) and share it: two inventories on one store would keep two
/// group-commit queues, so their takes would not batch together.
#[derive(Clone)]
pub struct Inventory {
    store: Store,
    state: Arc<State>,
}

/// What the operations keep per process.
#[derive(Default)]
struct State {
    /// Group commit's queues and leaders.
    combiner: Arc<Combiner>,
    /// The alert feed of this process.
    alerts: Follower,
    /// Conflicts per SKU, for the `contention` alert.
    contention: ContentionWatch,
}

impl Inventory {
    /// The operations on `store`, with fresh per-process state.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            state: Arc::default(),
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// This inventory with group commit on or off, sharing everything else (the queues
    /// included), as [`Store::with_batching`] does for the store.
    pub fn with_batching(&self, batching: bool) -> Self {
        Self {
            store: self.store.with_batching(batching),
            state: self.state.clone(),
        }
    }

    pub(crate) fn combiner(&self) -> &Arc<Combiner> {
        &self.state.combiner
    }

    pub(crate) fn alerts(&self) -> &Follower {
        &self.state.alerts
    }

    pub(crate) fn contention(&self) -> &ContentionWatch {
        &self.state.contention
    }
}

impl Deref for Inventory {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl From<Store> for Inventory {
    fn from(store: Store) -> Self {
        Self::new(store)
    }
}

impl std::fmt::Debug for Inventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inventory")
            .field("key_prefix", &self.store.config().key_prefix)
            .finish_non_exhaustive()
    }
}
