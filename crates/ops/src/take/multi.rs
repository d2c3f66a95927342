//! A take as WATCH/MULTI/EXEC: its writes, and the [`Optimistic`] form the engine runs. The
//! writes move counters by increments, so they do not depend on the levels read; that is
//! what lets group commit queue many takes in one MULTI.

use super::super::OrderLine;
use super::super::alerts::{crossing_cmd, places_cmds};
use super::super::journal::{with_allocations, xadd};
use super::super::level::{Allocation, Level, shift};
use super::super::movements::MovementLog;
use super::super::purchase_order::PurchaseOrder;
use super::Record;
use super::Take;
use super::decide::Verdict;
use super::gate::{Gate, has_sale};
use super::receipt::Receipt;
use crate::Unwritten;
use crate::domain::Reference;
use crate::outcome::Effort;
use crate::txn::{Optimistic, Plan};
use redis::{Cmd, Value};

impl Take {
    /// The writes of an accepted take drawn as `drawn` (per line, in cart order), and where
    /// each line's `HINCRBY … available` sits among them: the broken path reads the level
    /// Redis answered from there. Counters move by increments, so the writes do not depend
    /// on the levels read; that is what lets a group commit queue many takes in one MULTI.
    /// `alerting` says, per line, whether its SKU has alert rules: only then is the alert
    /// check queued after its writes. Its movements go to the MULTI's [`MovementLog`]
    /// ([`Take::log_movements`]), written once per SKU at the MULTI's end.
    /// `counting` (empty when no SKU has a limit) says which lines a hold's record lists as
    /// counted, so that its release gives the count back.
    pub(super) fn writes(
        &self,
        drawn: &[Vec<Allocation>],
        alerting: &[bool],
        counting: &[bool],
    ) -> (Vec<Cmd>, Vec<usize>) {
        let lines = self.items.lines();
        let mut writes: Vec<Cmd> = Vec::with_capacity(lines.len() * 3 + 3);
        let mut positions = Vec::with_capacity(lines.len());
        let all_default = drawn.iter().all(|d| Allocation::is_all_default(d));
        for (((line, key), drawn), alerting) in lines.iter().zip(self.stock_keys()).zip(drawn).zip(alerting) {
            positions.push(writes.len());
            // A preorder's units come from no shelf: they wait for their purchase order.
            let preorder = Allocation::preorder_of(drawn).is_some();
            let from = (!preorder).then_some("available");
            writes.extend(shift(key, drawn, from, Some(self.destination())));
            if *alerting && !preorder {
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
            Record::Order { key, json, .. } if all_default => {
                writes.push(redis::cmd("SET").arg(key).arg(json).to_owned())
            }
            Record::Order { key, order, .. } => {
                let mut order = order.as_ref().clone();
                OrderLine::allocate(&mut order.items, drawn);
                let json = serde_json::to_string(&order).expect("order serializes");
                writes.push(redis::cmd("SET").arg(key).arg(json).to_owned());
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
                writes.push(
                    redis::cmd("ZADD")
                        .arg(index)
                        .arg(expires_at)
                        .arg(self.reference)
                        .to_owned(),
                );
            }
        }
        writes.extend(self.entry.as_deref().map(|json| match all_default {
            true => xadd(&self.store, self.slot, json),
            false => xadd(&self.store, self.slot, &with_allocations(json, drawn)),
        }));
        (writes, positions)
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
        let mut log = MovementLog::default();
        match self.verdict(&levels, prior, effort, &mut log, &mut gate) {
            Verdict::Commit {
                mut writes, receipt, ..
            } => {
                writes.extend(self.places_writes(&levels, &receipt.drawn));
                writes.extend(log.cmds(&self.store));
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
