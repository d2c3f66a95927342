//! Carts whose SKUs span cluster slots: a saga of timed holds and one decision.
//!
//! On a Redis Cluster no transaction spans slots, so such a cart cannot be one WATCH/MULTI/
//! EXEC. The protocol (docs/guides/cluster.md, "Carts across slots", tells its failure cases):
//!
//! 1. **Hold**, slot by slot in slot order: each slot's lines are taken into a *part*, an
//!    ordinary reservation in that slot (one atomic step, in the slot's expiry index, with a
//!    short deadline and a link to the parent). Every coordinator holds slots in the same
//!    order, so two carts racing for the last units refuse one another at the first shared
//!    slot instead of each holding half.
//! 2. **Refused** (short, unknown SKU, Redis failing): decide `abort`, then release the
//!    parts held, in reverse order. Nothing is left held when the call returns; if a release
//!    fails, the part is a timed hold and the expiry worker releases it.
//! 3. **Commit**: one transaction in the parent's slot writes the decision `commit` and the
//!    parent record (the order, or the reservation) and the idempotent answer, unless a
//!    decision exists already. That EXEC is the point of no return.
//! 4. **Follow**: each part is made to agree with its parent: sold (checkout), or given the
//!    reservation's deadline. Later transitions of the reservation (confirm, cancel, extend,
//!    expire) decide on the parent alone and are followed the same way.
//!
//! The decision key is written once (`SET NX`): by the coordinator's commit, or by whoever
//! gives up first (the coordinator on a refusal, the expiry worker on a part whose deadline
//! passed with no decision). Whoever finds a part reads the decision and acts on it, so a
//! coordinator that dies anywhere leaves only timed holds that the worker settles one way:
//! never a unit held forever, never a half-sold cart.

mod decision;
mod final_commit;
mod parts;

use crate::convert;
use crate::domain::EntryKind;
use decision::{Decision, decision_key, give_up};
use final_commit::{FinalCommit, NotCommitted};
pub(crate) use parts::{PartOutcome, follow, settle_part};

use super::idempotency::{Idempotency, Prior, StoredAnswer};
use super::journal::{Entry, journal_cmd};
use super::reservation::Reservation;
use super::take::{Outcome, Receipt, Take, Taken};
use super::{Effort, Order, OrderLine};
use crate::Inventory;
use crate::domain::{CartItems, RecordId, Reference, ReservationId, ReservationStatus, Strategy, UserId};
use crate::error::{Error, StoreError};
use crate::txn::{self, TxError};
use redis::{Cmd, Value};
use std::collections::BTreeMap;

/// Whether `items` must be a saga: on a cluster, when its SKUs live in more than one slot.
pub(crate) fn spans_slots(store: &Inventory, items: &CartItems) -> bool {
    let keys = store.keys();
    let home = keys.slot_of_cart(items);
    store.is_cluster() && items.lines().iter().any(|l| keys.slot_of_sku(&l.sku) != home)
}

/// What a committed saga creates, in the slot of its first SKU.
pub(crate) enum Parent {
    /// A checkout's order.
    Order(Order),
    /// A reservation (its `parts` are filled in here).
    Reservation(Reservation),
}

impl Parent {
    /// The parent's id: what the parts name as their saga, and where the decision lives.
    fn id(&self) -> RecordId {
        match self {
            Self::Order(o) => RecordId::Order(o.order_id),
            Self::Reservation(r) => RecordId::Reservation(r.reservation_id),
        }
    }

    fn expires_at(&self) -> i64 {
        match self {
            Self::Order(_) => 0,
            Self::Reservation(r) => r.expires_at,
        }
    }

    /// The writes that create the parent record, and its ledger entry (its parts move the
    /// stock, each in its own slot's entries).
    fn writes(&self, store: &Inventory) -> Vec<Cmd> {
        let (slot, record, entry) = match self {
            Self::Order(order) => {
                let id = order.order_id;
                let set = redis::cmd("SET")
                    .arg(store.keys().order(&id))
                    .arg(order.to_json())
                    .to_owned();
                (
                    id.slot(),
                    set,
                    Entry::new(
                        EntryKind::Order,
                        Reference::Record(RecordId::Order(id)),
                        order.created_at,
                    )
                    .order(order),
                )
            }
            Self::Reservation(resv) => {
                let id = resv.reservation_id;
                let hset = redis::cmd("HSET")
                    .arg(store.keys().reservation(&id))
                    .arg(resv.to_fields())
                    .to_owned();
                (
                    id.slot(),
                    hset,
                    Entry::new(
                        EntryKind::Reserve,
                        Reference::Record(RecordId::Reservation(id)),
                        resv.created_at,
                    )
                    .reservation(resv),
                )
            }
        };
        std::iter::once(record)
            .chain(journal_cmd(store, slot, &entry))
            .collect()
    }
}

/// One cross-slot cart to take.
pub(crate) struct CrossSlotCart<'a> {
    pub store: &'a Inventory,
    pub strategy: Strategy,
    pub items: &'a CartItems,
    /// The endpoint, for the idempotency scope: `checkout` or `reserve`.
    pub scope: EntryKind,
    pub idem: Option<&'a Idempotency>,
    pub user_id: UserId,
    pub at_ms: i64,
    pub parent: Parent,
}

impl CrossSlotCart<'_> {
    /// Runs the saga, and reports it as one call of its endpoint.
    pub(crate) async fn run(self) -> Result<Taken, Error> {
        let (store, scope, strategy) = (self.store, self.scope, self.strategy);
        let started = tokio::time::Instant::now();
        let taken = self.hold_then_commit().await;
        let effort = taken.as_ref().ok().map(|t| t.effort);
        super::finished(store, scope, strategy.as_str(), started, &taken, effort, Vec::new);
        taken
    }

    /// The saga: hold every slot's lines, then commit, or release and refuse.
    async fn hold_then_commit(mut self) -> Result<Taken, Error> {
        let store = self.store;
        let link = self.parent.id();
        let answer = StoredAnswer::claim_if_keyed(store, self.scope.as_str(), self.idem, link.slot()).await?;
        store.list_journal_slot(link.slot()).await?;
        if let Some(answer) = &answer
            && let Some(receipt) = self.recall(answer).await?
        {
            return receipt.into_taken(self.items);
        }
        let deadline = store.deadline();
        let hold_until = self.at_ms + convert::millis_i64(store.config().saga_hold);
        let mut groups: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
        for (i, line) in self.items.lines().iter().enumerate() {
            groups.entry(store.keys().slot_of_sku(&line.sku)).or_default().push(i);
        }
        let mut held: Vec<ReservationId> = Vec::with_capacity(groups.len());
        let mut remaining = vec![0; self.items.lines().len()];
        let mut drawn = vec![Vec::new(); self.items.lines().len()];
        let mut effort = Effort::of(0, 0);
        for (&slot, lines) in &groups {
            let part_id = ReservationId::generate_in(slot);
            // Listed before its attempt: a part whose reply was lost is still released.
            held.push(part_id);
            match self.hold(slot, part_id, lines, hold_until, deadline).await {
                Ok(PartHold::Taken(taken)) => {
                    for (k, &i) in lines.iter().enumerate() {
                        remaining[i] = taken.remaining[k];
                        drawn[i].clone_from(&taken.drawn[k]);
                    }
                    effort.attempts += taken.effort.attempts;
                    effort.conflicts += taken.effort.conflicts;
                }
                Ok(PartHold::Refused(outcome, attempts)) => {
                    let outcome = self.widen(outcome, &groups, held.len()).await;
                    release(store, &link, &held).await;
                    return self.refuse(outcome, attempts, answer.as_ref(), &link).await;
                }
                // Redis failing or contention: nothing to remember, a repeat may do better.
                Err(e) => {
                    release(store, &link, &held).await;
                    return Err(e);
                }
            }
        }
        match &mut self.parent {
            Parent::Reservation(resv) => {
                resv.parts.clone_from(&held);
                OrderLine::allocate(&mut resv.items, &drawn);
            }
            Parent::Order(order) => OrderLine::allocate(&mut order.items, &drawn),
        }
        let receipt = Receipt {
            reference: link,
            expires_at: self.parent.expires_at(),
            outcome: Outcome::Taken(remaining),
            effort,
            drawn,
        };
        let commit = FinalCommit {
            decision: Some(decision_key(store, &link)),
            effect: self.parent.writes(store),
            receipt: receipt.clone(),
            answer: answer.as_ref(),
            quantities: self.items.quantities(),
            retention_ms: convert::millis(store.config().retention),
        };
        let concluded = match txn::run_until(store, &commit, deadline).await {
            Ok(_) => Ok(receipt),
            Err(TxError::Rejected { rejection, .. }) => Err(rejection),
            // A lost EXEC reply may still have committed: whatever stands is the answer.
            Err(TxError::Store(e)) => match give_up(store, &link).await {
                Ok(Decision::Commit) => Ok(receipt),
                _ => Err(NotCommitted::Failed(e.into())),
            },
            Err(TxError::Contention { attempts, throttled }) => {
                Err(NotCommitted::Failed(Error::Contention { attempts, throttled }))
            }
        };
        match concluded {
            Ok(receipt) => {
                follow(store, &held).await;
                receipt.into_taken(self.items)
            }
            Err(other) => {
                release(store, &link, &held).await;
                match other {
                    NotCommitted::Replayed(receipt) => receipt.into_taken(self.items),
                    NotCommitted::Decided => Err(StoreError::Timeout.into()),
                    NotCommitted::Failed(e) => Err(e),
                }
            }
        }
    }

    /// Takes one slot's lines into a part: an active reservation in that slot, linked to
    /// the parent, due at `hold_until`.
    async fn hold(
        &self,
        slot: u16,
        id: ReservationId,
        lines: &[usize],
        hold_until: i64,
        deadline: tokio::time::Instant,
    ) -> Result<PartHold, Error> {
        let store = self.store;
        let items = self.items.subset(lines);
        let part = Reservation {
            reservation_id: id,
            status: ReservationStatus::Active,
            items: OrderLine::of(&items),
            user_id: self.user_id.clone(),
            expires_at: hold_until,
            created_at: self.at_ms,
            order_id: None,
            parts: Vec::new(),
            saga: Some(self.parent.id()),
            counted: Vec::new(),
            queues: Default::default(),
        };
        store.index_expiry_slot(slot).await?;
        let take = Take::hold(store, items.clone(), &part, None, deadline);
        let receipt = take.run_to_receipt(self.strategy, &items).await?;
        if !matches!(receipt.outcome, Outcome::Taken(_)) {
            return Ok(PartHold::Refused(
                receipt.outcome.in_cart(lines),
                receipt.effort.attempts,
            ));
        }
        store.hold_added(slot, hold_until);
        Ok(PartHold::Taken(receipt.into_taken(&items)?))
    }

    /// A stored answer for this call's key, if an earlier call left one.
    async fn recall(&self, answer: &StoredAnswer) -> Result<Option<Receipt>, Error> {
        let stored: Value = self.store.query(redis::cmd("HGETALL").arg(&answer.key)).await?;
        match answer.recall(stored)? {
            Prior::Fresh => Ok(None),
            Prior::Replay(fields) => Ok(Some(Receipt::from_fields(
                &fields,
                &self.items.quantities(),
                self.parent.id(),
            )?)),
        }
    }

    /// A short slot's refusal, widened to every short line of the cart: the slots not
    /// reached are read (a plain read; they were never held).
    async fn widen(&self, refusal: Outcome, groups: &BTreeMap<u16, Vec<usize>>, reached: usize) -> Outcome {
        let Outcome::Short(mut short) = refusal else {
            return refusal;
        };
        let lines = self.items.lines();
        let unread: Vec<usize> = groups.values().skip(reached).flatten().copied().collect();
        let reads = unread
            .iter()
            .map(|&i| {
                redis::cmd("HGET")
                    .arg(self.store.keys().stock(&lines[i].sku))
                    .arg("available")
                    .to_owned()
            })
            .collect();
        if let Ok(levels) = self.store.read_all::<Option<i64>>(reads).await {
            for (&i, level) in unread.iter().zip(levels) {
                if let Some(available) = level.filter(|a| *a < lines[i].quantity.get()) {
                    short.push((i, available));
                }
            }
        }
        short.sort_by_key(|&(i, _)| i);
        Outcome::Short(short)
    }

    /// Answers a refusal, storing it first when the call carries a key (a repeat must get
    /// the same answer). A repeat that committed meanwhile wins: its answer is returned.
    async fn refuse(
        &self,
        outcome: Outcome,
        attempts: u32,
        answer: Option<&StoredAnswer>,
        link: &RecordId,
    ) -> Result<Taken, Error> {
        let receipt = Receipt {
            reference: *link,
            expires_at: self.parent.expires_at(),
            outcome,
            effort: Effort::refused_after(attempts),
            drawn: Vec::new(),
        };
        let Some(answer) = answer else {
            return receipt.into_taken(self.items);
        };
        let store_it = FinalCommit {
            decision: None,
            effect: Vec::new(),
            receipt: receipt.clone(),
            answer: Some(answer),
            quantities: self.items.quantities(),
            retention_ms: convert::millis(self.store.config().retention),
        };
        match txn::run(self.store, &store_it).await {
            Err(TxError::Rejected {
                rejection: NotCommitted::Replayed(first),
                ..
            }) => first.into_taken(self.items),
            // Stored, or not (Redis failing): the refusal is the answer either way.
            _ => receipt.into_taken(self.items),
        }
    }
}

/// How one slot's hold of a saga ended, short of Redis failing: taken, or refused with
/// the refusal in the whole cart's line numbers and the attempts it took.
enum PartHold {
    Taken(Taken),
    Refused(Outcome, u32),
}

/// Gives up on a saga and releases its parts, last held first. A failure is left to the
/// expiry worker: every part is a timed hold, and the decision says what becomes of it.
async fn release(store: &Inventory, link: &RecordId, held: &[ReservationId]) {
    match give_up(store, link).await {
        Ok(_) => follow_reversed(store, held).await,
        Err(e) => {
            tracing::warn!(error = %e, saga = %link, "saga: could not decide abort; the expiry worker will")
        }
    }
}

async fn follow_reversed(store: &Inventory, held: &[ReservationId]) {
    let reversed: Vec<ReservationId> = held.iter().rev().copied().collect();
    follow(store, &reversed).await;
}
