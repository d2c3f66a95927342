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
use std::sync::atomic::{AtomicBool, Ordering};

/// A [`Store`] with the operations' per-process state. Cheap to clone; make one per
/// process (from its store) and share it: two inventories on one store would keep two
/// group-commit queues, so their takes would not batch together.
#[derive(Clone)]
pub struct Inventory {
    store: Store,
    /// Group commit's queues and leaders: per [`lane`](Inventory::lane).
    combiner: Arc<Combiner>,
    state: Arc<State>,
    /// For one request's view ([`Inventory::with_admissions`]): the admissions it presented.
    admissions: Option<Arc<crate::domain::Admissions>>,
}

/// What the operations keep per process.
#[derive(Default)]
struct State {
    /// The alert feed of this process.
    alerts: Follower,
    /// Conflicts per SKU, for the `contention` alert.
    contention: ContentionWatch,
    /// Whether the store is known to carry the settings mark (`settings_mark`): set by
    /// `ops::upgrade`, never unset.
    settings_marked: AtomicBool,
}

impl Inventory {
    /// The operations on `store`, with fresh per-process state.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            combiner: Arc::default(),
            state: Arc::default(),
            admissions: None,
        }
    }

    /// This inventory on a lane of its own: its own Redis connections ([`Store::lane`]) and
    /// its own group-commit queues, sharing everything else. A server gives one to each
    /// worker thread, so that a purchase is queued, committed and answered on the thread
    /// that read its request, without waking another. Takes batch within a lane, in the
    /// order they reach it; lanes commit side by side, as separate processes would.
    pub fn lane(&self) -> Result<Self, crate::store::ConnectError> {
        Ok(Self {
            store: self.store.lane()?,
            combiner: Arc::new(self.combiner.sibling()),
            state: self.state.clone(),
            admissions: None,
        })
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
            combiner: self.combiner.clone(),
            state: self.state.clone(),
            admissions: self.admissions.clone(),
        }
    }

    /// This inventory for one request that presented `admissions` (a waiting room's
    /// `Admission` header), sharing everything else: its takes carry them into the
    /// transaction or script, which decides whether a SKU needs one. A request without the
    /// header uses the inventory as it is.
    pub fn with_admissions(&self, admissions: crate::domain::Admissions) -> Self {
        Self {
            admissions: Some(Arc::new(admissions)),
            ..self.clone()
        }
    }

    /// The admissions of the request this view serves.
    pub(crate) fn admissions(&self) -> Option<&crate::domain::Admissions> {
        self.admissions.as_deref()
    }

    pub(crate) fn combiner(&self) -> &Arc<Combiner> {
        &self.combiner
    }

    pub(crate) fn alerts(&self) -> &Follower {
        &self.state.alerts
    }

    pub(crate) fn contention(&self) -> &ContentionWatch {
        &self.state.contention
    }

    /// Whether a take may read a SKU's settings only where it carries the settings mark.
    pub(crate) fn settings_marked(&self) -> bool {
        self.state.settings_marked.load(Ordering::Relaxed)
    }

    /// The store carries the settings mark (`settings_mark::upgrade` saw it done).
    pub(crate) fn settings_are_marked(&self) {
        self.state.settings_marked.store(true, Ordering::Relaxed);
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
