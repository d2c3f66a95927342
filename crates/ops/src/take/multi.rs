//! A take as WATCH/MULTI/EXEC: its writes, and the [`Optimistic`] form the engine runs. The
//! writes move counters by increments, so they do not depend on the levels read; that is
//! what lets group commit queue many takes in one MULTI.

use super::super::OrderLine;
use super::super::alerts::{crossing_cmd, places_cmds};
use super::super::increments::shift;
use super::super::journal::{with_allocations, xadd};
use super::super::level::{Allocation, Level};
use super::super::movements::MovementLog;
use super::super::purchase_order::PurchaseOrder;
use super::Record;
use super::Take;
use super::decide::Verdict;
use super::gate::{Gate, has_sale};
use super::receipt::Receipt;
use super::tail::Tail;
use crate::Unwritten;
use crate::domain::Reference;
use crate::outcome::Effort;
use crate::txn::{Optimistic, Plan};
use redis::{Cmd, Value};
use std::borrow::Cow;

impl Take {
    /// The writes of an accepted take drawn as `drawn` (per line, in cart order). Counters
    /// move by increments, so the writes do not depend on the levels read; that is what
    /// lets a group commit queue many takes in one MULTI. A sale's order record, a hold's
    /// expiry entry and the counter moves go to the MULTI's [`Tail`], written at its end
    /// with the other takes' (moves merged), but the moves of a line whose SKU has alert
    /// rules (`alerting`): its alert check reads the level its own moves leave, so they stay
    /// in place, just before it. Its movements go to the tail's log
    /// ([`Take::log_movements`]). `counting` (empty when no SKU has a limit) says which
    /// lines a hold's record lists as counted, so that its release gives the count back.
    pub(super) fn writes<'a>(
        &'a self,
        drawn: &[Vec<Allocation>],
        alerting: &[bool],
        counting: &[bool],
        tail: &mut Tail<'a>,
    ) -> Vec<Cmd> {
        let lines = self.items.lines();
        let mut writes: Vec<Cmd> = Vec::with_capacity(lines.len() + 3);
        let all_default = drawn.iter().all(|d| Allocation::is_all_default(d));
        for (((line, key), drawn), alerting) in lines.iter().zip(self.stock_keys()).zip(drawn).zip(alerting) {
            // A preorder's units come from no shelf: they wait for their purchase order.
            let preorder = Allocation::preorder_of(drawn).is_some();
            let from = (!preorder).then_some("available");
            if !*alerting {
                tail.counters.shift(key, drawn, from, Some(self.destination()));
                continue;
            }
            writes.extend(shift(key, drawn, from, Some(self.destination())));
            if !preorder {
                writes.push(crossing_cmd(
                    &self.store,
                    &line.sku,
                    -line.quantity.get(),
                    self.at_ms,
                    false,
                ));
            }
        }
        match &self.record {
            Record::Order { key, json, .. } if all_default => tail.order(key, Cow::Borrowed(json)),
            Record::Order { key, order, .. } => {
                let mut order = order.as_ref().clone();
                OrderLine::allocate(&mut order.items, drawn);
                tail.order(key, Cow::Owned(order.to_json()));
            }
            Record::Reservation {
                key,
                index,
                expires_at,
                fields,
                ..
            } => {
                let mut hset = redis::cmd("HSET");
                hset.arg(key);
                for (name, value) in fields {
                    if *name == "items" && !all_default {
                        let mut lines = OrderLine::of(&self.items);
                        OrderLine::allocate(&mut lines, drawn);
                        hset.arg(*name)
                            .arg(serde_json::to_string(&lines).expect("lines serialize"));
                    } else {
                        hset.arg(*name).arg(value);
                    }
                }
                if !counting.is_empty() {
                    hset.arg("counted").arg(self.counted_skus(counting));
                }
                writes.push(hset);
                tail.expire_at(index, *expires_at, self.reference);
            }
        }
        writes.extend(self.entry.as_deref().map(|json| match all_default {
            true => xadd(&self.store, self.slot, json),
            false => xadd(&self.store, self.slot, &with_allocations(json, drawn)),
        }));
        writes
    }
}

impl Take {
    /// The SKUs whose count a hold took, as its record lists them (`counted`).
    pub(super) fn counted_skus(&self, counting: &[bool]) -> String {
        let lines = self.items.lines();
        let counted: Vec<&str> = lines
            .iter()
            .zip(counting)
            .filter(|(_, c)| **c)
            .map(|(l, _)| l.sku.as_str())
            .collect();
        counted.join(",")
    }
}

impl Optimistic for Take {
    /// Each line's stock hash (empty: unknown SKU), then the stored answer if any.
    type Snapshot = Vec<Value>;
    /// The committed answer.
    type Output = Receipt;
    /// A replay, or a refusal with nothing written.
    type Rejection = Unwritten<Receipt>;

    fn watch_keys(&self) -> Vec<String> {
        let mut keys = self.stock_keys().to_vec();
        keys.extend(self.idem.as_ref().map(|s| s.key.clone()));
        keys
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        for key in self.stock_keys() {
            pipe.cmd("HGETALL").arg(key);
        }
        if let Some(slot) = &self.idem {
            slot.read(pipe);
        }
    }

    /// A SKU with a sale: Redis's clock and this customer's counts (`gate`).
    fn read_more(&self, snapshot: &Vec<Value>, pipe: &mut redis::Pipeline) {
        let mut pairs = Vec::new();
        self.sale_pairs(|i| snapshot.get(i).is_some_and(has_sale), &mut pairs);
        if !pairs.is_empty() {
            Gate::read(&self.store, &pairs, pipe);
        }
    }

    fn add_more(&self, snapshot: &mut Vec<Value>, more: Vec<Value>) {
        snapshot.extend(more);
    }

    fn decide(&self, snapshot: Vec<Value>, attempt: u32) -> Result<Plan<Receipt>, Self::Rejection> {
        let (levels, prior, mut gate) = self.split(snapshot)?;
        let effort = Effort {
            attempts: attempt,
            conflicts: attempt - 1,
        };
        let levels: Vec<Option<&_>> = levels.iter().map(Option::as_ref).collect();
        let mut tail = Tail::default();
        match self.verdict(&levels, prior, effort, &mut tail, &mut gate) {
            Verdict::Commit { mut writes, receipt } => {
                writes.extend(self.places_writes(&levels, &receipt.drawn));
                writes.extend(tail.cmds(&self.store));
                Ok(Plan {
                    writes,
                    output: receipt,
                })
            }
            Verdict::Answer(receipt) => Err(Unwritten::Answered(receipt)),
            Verdict::Failed(e) => Err(Unwritten::Refused(e)),
        }
    }
}

impl Take {
    /// The low-stock entries at the locations this take moved, for its SKUs with a threshold
    /// and named locations: `levels` as read, `drawn` its allocations (none: not taken).
    fn places_writes(&self, levels: &[Option<&Level>], drawn: &[Vec<Allocation>]) -> Vec<Cmd> {
        let mut writes = Vec::new();
        for ((line, level), drawn) in self.items.lines().iter().zip(levels).zip(drawn) {
            if let Some(level) = level.filter(|l| l.indexes_places()) {
                let mut after = level.clone();
                after.withdraw(drawn);
                writes.extend(places_cmds(&self.store, &line.sku, level, &after));
            }
        }
        writes
    }

    /// Adds this take's movements, one per line, to the MULTI's log; `levels` are its lines'
    /// levels as the MULTI's WATCH read them.
    pub(super) fn log_movements(&self, log: &mut MovementLog, levels: &[Option<&Level>], drawn: &[Vec<Allocation>]) {
        for (i, line) in self.items.lines().iter().enumerate() {
            let (sku, quantity, reference) = (&line.sku, line.quantity.get(), Reference::Record(self.reference));
            // A preorder's movement names the purchase order it waits for.
            match drawn.get(i).and_then(|d| Allocation::preorder_of(d)) {
                Some(po) => log.record(sku, self.kind, quantity, reference, self.at_ms, &[("po", po.as_str())]),
                None => log.take(
                    sku,
                    self.kind,
                    quantity,
                    reference,
                    self.at_ms,
                    levels.get(i).copied().flatten().map(|l| l.moved),
                ),
            }
        }
    }

    /// The purchase orders a take's preorders queue on, as the take leaves them: one `HSET`
    /// per preorder line (a later one in the same MULTI writes the later state).
    pub(super) fn preorder_writes(&self, levels: &[Option<&Level>], drawn: &[Vec<Allocation>]) -> Vec<Cmd> {
        let mut writes = Vec::new();
        for ((line, level), drawn) in self.items.lines().iter().zip(levels).zip(drawn) {
            for a in drawn {
                let (Some(reference), Some(level)) = (&a.purchase_order, level) else {
                    continue;
                };
                if let Some(order) = level.orders.iter().find(|o| &o.reference == reference) {
                    let mut order = order.clone();
                    order.enqueue(a.quantity);
                    writes.push(
                        redis::cmd("HSET")
                            .arg(self.store.keys().stock(&line.sku))
                            .arg(PurchaseOrder::field(reference))
                            .arg(order.encode())
                            .to_owned(),
                    );
                }
            }
        }
        writes
    }
}
