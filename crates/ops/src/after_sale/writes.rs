//! What putting an order's lines back reads and writes in one slot: the stock and the
//! customer's count it reads; the counters, the movements, the alert check, the customer's
//! allowance and the ledger entries it writes. The order's own transaction does its slot's
//! share; `super::remote` does each other slot's.

use super::{OrderReturn, ReturnLine};
use crate::alerts::crossing_cmd;
use crate::domain::{Disposition, EntryKind, Location, OrderId, RecordId, Reference, Sku, UserId};
use crate::error::{Error, StoreError};
use crate::journal::{Entry, journal_cmd};
use crate::level::{Level, field_at};
use crate::movements::MovementLog;
use crate::purchase_order::PurchaseOrder;
use crate::{Inventory, OrderLine};
use redis::{Cmd, Value};
use std::collections::HashMap;

/// What a share's transaction read of one SKU.
#[derive(Debug, Clone)]
pub(super) struct SlotRead {
    /// Its stock.
    pub(super) level: Level,
    /// The customer's `u:USER` count (`crate::sale`), when the SKU counts them.
    pub(super) counted: Option<i64>,
}

/// Appends the reads a share decides on: per SKU, its stock and `user`'s units count.
pub(super) fn read(store: &Inventory, user: &UserId, skus: &[&Sku], pipe: &mut redis::Pipeline) {
    let [units, _] = crate::sale::count_fields(user);
    for sku in skus {
        crate::read_stock(store, sku, pipe);
        pipe.cmd("HGET").arg(store.keys().customers(sku)).arg(&units);
    }
}

/// Decodes what [`read`] appended for `skus`, taking it from `values`. A SKU without stock
/// (retired) is left out.
pub(super) fn parsed(skus: &[&Sku], values: &mut impl Iterator<Item = Value>) -> Result<HashMap<Sku, SlotRead>, Error> {
    let protocol = |sku: &Sku, e: redis::ParsingError| Error::Store(StoreError::Protocol(format!("{sku}: {e}").into()));
    let mut reads = HashMap::new();
    for &sku in skus {
        let fields: HashMap<String, String> =
            redis::from_redis_value(values.next().unwrap_or(Value::Nil)).map_err(|e| protocol(sku, e))?;
        let counted: Option<i64> =
            redis::from_redis_value(values.next().unwrap_or(Value::Nil)).map_err(|e| protocol(sku, e))?;
        if let Some(level) = Level::parse(sku, &fields)? {
            reads.insert(sku.clone(), SlotRead { level, counted });
        }
    }
    Ok(reads)
}

/// `lines` as they stand at this share's read: a preorder's units the plan found waiting
/// (read in another slot, before this share's WATCH) that a receipt has filled since go to
/// the shelf instead of back to the purchase order.
pub(super) fn as_now(lines: Vec<ReturnLine>, reads: &HashMap<Sku, SlotRead>) -> Vec<ReturnLine> {
    lines
        .into_iter()
        .map(|mut line| {
            let Some(read) = reads.get(&line.sku) else { return line };
            let mut from = Vec::with_capacity(line.from.len());
            for a in std::mem::take(&mut line.from) {
                let (shelf, waiting) = PurchaseOrder::split(a, &read.level.orders);
                from.extend(shelf.into_iter().chain(waiting));
            }
            line.from = from;
            line
        })
        .collect()
}

/// The counter a disposition sends units to.
fn counter(disposition: Disposition) -> &'static str {
    match disposition {
        Disposition::Restock => "available",
        Disposition::Damaged => "damaged",
    }
}

/// The writes that put `lines` back (all in one slot), whose SKUs' reads are `reads`. A SKU
/// that is not there was retired: refused, since its units belong to the retired SKU.
pub(super) fn slot_writes(
    store: &Inventory,
    order: &OrderId,
    user: &UserId,
    kind: EntryKind,
    lines: &[ReturnLine],
    reads: &HashMap<Sku, SlotRead>,
    at_ms: i64,
) -> Result<Vec<Cmd>, Error> {
    let reference = Reference::Record(RecordId::Order(*order));
    let [units, _] = crate::sale::count_fields(user);
    let mut writes = Vec::new();
    let mut log = MovementLog::default();
    // Purchase orders given their preorders' units back.
    let mut queues = Vec::new();
    for line in lines {
        let read = reads.get(&line.sku).ok_or_else(|| Error::unknown_sku(&line.sku))?;
        let key = store.keys().stock(&line.sku);
        let mut incr =
            |field: &str, by: i64| writes.push(redis::cmd("HINCRBY").arg(&key).arg(field).arg(by).to_owned());
        let to = counter(line.disposition);
        let shelf = line.quantity - line.still_waiting();
        incr("sold", -line.quantity);
        if shelf > 0 {
            incr(to, shelf);
        }
        for from in &line.from {
            let (origin, n) = (&from.location, from.quantity);
            let destination = line.destination(origin);
            let mut at = |counter: &str, place: &Location, by: i64| {
                if let Some(field) = field_at(counter, place.as_str()) {
                    incr(&field, by);
                }
            };
            at("sold", origin, -n);
            if let (Some(reference), Some(position)) = (&from.purchase_order, from.position) {
                // Still waiting: the units go back to their purchase order's room.
                if let Some(order) = read.level.orders.iter().find(|o| &o.reference == reference) {
                    let mut order = order.clone();
                    order.dequeue(position);
                    queues.push(
                        redis::cmd("HSET")
                            .arg(&key)
                            .arg(PurchaseOrder::field(reference))
                            .arg(order.encode())
                            .to_owned(),
                    );
                }
                continue;
            }
            at(to, destination, n);
            // Arriving elsewhere is a transfer of what each location received.
            if destination != origin {
                at("received", origin, -n);
                at("received", destination, n);
            }
        }
        let extra: Vec<(&str, &str)> = line.location.iter().map(|l| ("location", l.as_str())).collect();
        log.record(&line.sku, kind, line.quantity, reference, at_ms, &extra);
        if line.disposition == Disposition::Damaged {
            if shelf > 0 {
                log.record(&line.sku, EntryKind::Damage, shelf, reference, at_ms, &extra);
            }
        } else if read.level.rules.any() && shelf > 0 {
            writes.push(crossing_cmd(store, &line.sku, shelf, at_ms, true));
        }
        // The units stop counting against the customer's limit (never below nothing: the
        // limit may have been set after the sale).
        if let Some(counted) = read.counted.filter(|c| *c > 0) {
            writes.push(
                redis::cmd("HINCRBY")
                    .arg(store.keys().customers(&line.sku))
                    .arg(&units)
                    .arg(-line.quantity.min(counted))
                    .to_owned(),
            );
        }
    }
    writes.extend(queues);
    writes.extend(log.cmds(store));
    Ok(writes)
}

/// The ledger entries of one slot's share, in `slot`'s feed: the units back (`kind`), then
/// those of them that went to `damaged`. The order's own share carries the return record.
pub(super) fn journal(
    store: &Inventory,
    slot: u16,
    order: &OrderId,
    kind: EntryKind,
    lines: &[ReturnLine],
    record: Option<&OrderReturn>,
    at_ms: i64,
) -> Vec<Cmd> {
    let reference = Reference::Record(RecordId::Order(*order));
    // A line's units from a shelf and those of a preorder still waiting are separate lines
    // of the entry: the books move the second kind by `EntryKind::preorder_deltas`, and only
    // the first can be damaged.
    let moved = |damaged_only: bool| -> Vec<OrderLine> {
        let mut moved = Vec::new();
        for l in lines
            .iter()
            .filter(|l| !damaged_only || l.disposition == Disposition::Damaged)
        {
            let (waiting, shelf): (Vec<_>, Vec<_>) = l.from.iter().cloned().partition(|a| a.purchase_order.is_some());
            let shelf_units = l.quantity - l.still_waiting();
            if shelf_units > 0 {
                moved.push(OrderLine::new(l.sku.clone(), shelf_units, shelf));
            }
            if !damaged_only && !waiting.is_empty() {
                moved.push(OrderLine::new(l.sku.clone(), l.still_waiting(), waiting));
            }
        }
        moved
    };
    let mut back = Entry::new(kind, reference, at_ms).lines(moved(false));
    back.order_return = record.cloned();
    let mut cmds: Vec<Cmd> = journal_cmd(store, slot, &back).into_iter().collect();
    let damaged = moved(true);
    if !damaged.is_empty() {
        cmds.extend(journal_cmd(
            store,
            slot,
            &Entry::new(EntryKind::Damage, reference, at_ms).lines(damaged),
        ));
    }
    cmds
}
