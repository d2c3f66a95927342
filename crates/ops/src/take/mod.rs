//! Taking stock out of `available` for a cart: the one decision behind purchases, checkouts
//! and reservations, run by any of the three strategies.
//!
//! A take ends in a [`Receipt`]: what it decided (an [`Outcome`]: taken, or a refusal naming
//! its lines) plus the record it created, a [`RecordId`]. With an Idempotency-Key the
//! receipt is stored in the same MULTI or script as the effect (refusals too), and a repeat
//! gets the stored receipt back instead of a second effect. A refusal becomes an `Error`
//! only in [`Receipt::into_taken`], when it is rendered for the caller; a saga reads the
//! outcome itself ([`Take::run_to_receipt`]).
//!
//! This file holds the model (`Take`, `Record`), `sell`, and the choice of strategy. Around
//! it, one file per concern:
//! - `receipt`: the outcome and the stored answer, and their encodings;
//! - `decide`: the decision from the levels read, shared by every strategy;
//! - `gate`: a drop's checks (sale window, per-customer limits) and their second read;
//! - `multi`: the writes and the WATCH/MULTI/EXEC form (`txn::Optimistic`); `tail`: the
//!   writes a MULTI's takes share, merged and queued at its end;
//! - `batch`: group commit: the queues, their leaders and the batches in flight; `claims`:
//!   the keys `watch` batches in flight hold, process-wide, and whose turn each is next;
//! - `watch_batch`: one `watch` batch as one WATCH/MULTI/EXEC;
//! - `lua`: the script form, and `lua_layout` its arguments' layout; `broken`:
//!   check-then-act, for teaching.

pub(crate) mod batch;
mod broken;
mod claims;
mod decide;
mod gate;
mod lua;
mod lua_layout;
mod multi;
mod receipt;
mod tail;
mod watch_batch;

pub(crate) use receipt::{Outcome, Receipt, Taken};

use super::Effort;
use super::idempotency::StoredAnswer;
use super::journal::{Entry, encoded};
use super::reservation::Reservation;
use crate::Inventory;
use crate::domain::{CartItems, EntryKind, RecordId, Reference, Strategy, UserId};
use crate::error::Error;
use crate::outcome::CallOutcome;
use crate::txn;

/// Where the taken units go, and what record the taking leaves.
pub(crate) enum Record {
    /// Sold now: an order stored as JSON.
    Order {
        /// Key of the order.
        key: String,
        /// The order, for a take drawn from named locations: stored with its allocations.
        order: Box<super::Order>,
        /// The order JSON, encoded once, for a take drawn all from `default`.
        json: String,
    },
    /// Held: a reservation hash plus its entry in its slot's expiry index.
    Reservation {
        /// Key of the reservation hash.
        key: String,
        /// The expiry index of the take's slot.
        index: String,
        /// Deadline, epoch ms: the ZSET score.
        expires_at: i64,
        /// Field/value pairs of the hash.
        fields: Vec<(&'static str, String)>,
        /// Who holds it.
        user: UserId,
        /// Whether it counts against `max_active_holds_per_customer`
        /// ([`Reservation::counts_as_hold`]).
        counts_as_hold: bool,
    },
}

/// One cart to take, with everything the decision needs fixed in advance (ids, time), so
/// that every retry and every strategy writes the same thing.
pub(crate) struct Take {
    pub store: Inventory,
    pub items: CartItems,
    /// The cluster slot of the cart's SKUs, where the record and the answer are written.
    pub slot: u16,
    /// Movement kind: `purchase`, `checkout` or `reserve`.
    pub kind: EntryKind,
    /// The order or reservation this take writes; the movements point at it.
    pub reference: RecordId,
    pub record: Record,
    pub at_ms: i64,
    /// Where the answer is stored when the client sent an Idempotency-Key.
    pub idem: Option<StoredAnswer>,
    /// When the caller stops waiting: the request's response timeout.
    pub deadline: tokio::time::Instant,
    /// Its ledger entry, encoded once (`super::journal::encoded`); `None` with the ledger off.
    pub entry: Option<String>,
    /// Each line's stock key, in cart order: formatted once, when first needed (a `watch`
    /// batch's claims and reads, a `lua` call's keys). See [`Take::stock_keys`].
    pub stock_keys: std::sync::OnceLock<Vec<String>>,
}

/// The process's group commit.
fn combiner(store: &Inventory) -> std::sync::Arc<batch::Combiner> {
    store.combiner().clone()
}

impl Take {
    /// A take of `items` into the new reservation `resv` (in its id's slot, indexed at its
    /// deadline): a hold, by a client or by one slot of a saga.
    pub(crate) fn hold(
        store: &Inventory,
        items: CartItems,
        resv: &Reservation,
        idem: Option<StoredAnswer>,
        deadline: tokio::time::Instant,
    ) -> Self {
        let (id, slot) = (resv.reservation_id, resv.reservation_id.slot());
        Self {
            store: store.clone(),
            items,
            slot,
            kind: EntryKind::Reserve,
            reference: RecordId::Reservation(id),
            record: Record::Reservation {
                key: store.keys().reservation(&id),
                index: store.keys().expiry(slot),
                expires_at: resv.expires_at,
                fields: resv.to_fields(),
                user: resv.user_id.clone(),
                counts_as_hold: resv.counts_as_hold(),
            },
            at_ms: resv.created_at,
            idem,
            deadline,
            entry: encoded(store, || {
                Entry::new(
                    EntryKind::Reserve,
                    Reference::Record(RecordId::Reservation(id)),
                    resv.created_at,
                )
                .lines(resv.items.clone())
                .reservation(resv)
            }),
            stock_keys: Default::default(),
        }
    }

    /// The customer: what a SKU's per-customer limit counts. Read from the record, which
    /// holds it anyway.
    pub(crate) fn user(&self) -> &UserId {
        match &self.record {
            Record::Order { order, .. } => &order.user_id,
            Record::Reservation { user, .. } => user,
        }
    }

    fn destination(&self) -> &'static str {
        match self.record {
            Record::Order { .. } => "sold",
            Record::Reservation { .. } => "reserved",
        }
    }

    fn expires_at(&self) -> i64 {
        match self.record {
            Record::Order { .. } => 0,
            Record::Reservation { expires_at, .. } => expires_at,
        }
    }

    /// Runs the take under `strategy`. On `watch` and `lua`, takes go through the store's
    /// group commit unless batching is off. `items` are the take's own, which the caller
    /// still holds (the take itself travels into the batch).
    pub(crate) async fn run(self, strategy: Strategy, items: &CartItems) -> Result<Taken, Error> {
        self.run_to_receipt(strategy, items).await?.into_taken(items)
    }

    /// [`Take::run`], answering with the receipt: a refusal stays an [`Outcome`] naming its
    /// lines, which a saga maps onto its whole cart. `items` are the take's own, for the
    /// report.
    pub(crate) async fn run_to_receipt(self, strategy: Strategy, items: &CartItems) -> Result<Receipt, Error> {
        let started = tokio::time::Instant::now();
        let (store, kind) = (self.store.clone(), self.kind);
        store.list_journal_slot(self.slot).await?;
        let (receipt, effort) = match strategy {
            Strategy::Watch if store.config().batching => {
                (combiner(&store).submit(batch::Path::Watch, self).await, None)
            }
            Strategy::Lua if store.config().batching => (combiner(&store).submit(batch::Path::Lua, self).await, None),
            // The paths without group commit are boxed: inline, their futures (the
            // optimistic engine's above all) would make every take's future kilobytes
            // larger, and that future is moved on every call.
            Strategy::Watch => {
                let run = Box::pin(txn::run_until(&store, &self, self.deadline)).await;
                let answered = super::answer(run, Into::into);
                (answered.result, answered.effort)
            }
            Strategy::Lua => (Box::pin(self.run_lua()).await, None),
            Strategy::Broken => (Box::pin(self.run_broken()).await, None),
        };
        let (outcome, effort) = match &receipt {
            Ok(r) => (r.outcome.call_outcome(), r.effort),
            Err(e) => (CallOutcome::of_error(e), super::effort_of(effort, e)),
        };
        super::report(&store, kind, strategy.as_str(), started, outcome, effort, || {
            items.lines().iter().map(|l| &l.sku)
        });
        receipt
    }

    /// The stock key of each line, in cart order.
    pub(crate) fn stock_keys(&self) -> &[String] {
        self.stock_keys.get_or_init(|| {
            let keys = self.store.keys();
            self.items.lines().iter().map(|l| keys.stock(&l.sku)).collect()
        })
    }

    fn receipt(&self, outcome: Outcome, effort: Effort) -> Receipt {
        Receipt {
            reference: self.reference,
            expires_at: self.expires_at(),
            outcome,
            effort,
            drawn: Vec::new(),
        }
    }
}
