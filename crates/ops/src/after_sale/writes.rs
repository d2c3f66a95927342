//! What putting an order's lines back writes in one slot: the counters, the movements, the
//! alert check, the customer's allowance and the ledger entries. The order's own
//! transaction writes its slot's share; `super::remote` writes each other slot's.

use super::{OrderReturn, ReturnLine};
use crate::alerts::crossing_cmd;
use crate::domain::{Disposition, EntryKind, OrderId, RecordId, Reference, Sku, UserId};
use crate::error::Error;
use crate::journal::{Entry, journal_cmd};
use crate::level::{Level, field_at};
use crate::movements::record_cmds;
use crate::{Inventory, OrderLine};
use redis::Cmd;
use std::collections::HashMap;

/// What a share's transaction read of one SKU.
#[derive(Debug, Clone)]
pub(crate) struct SlotRead {
    /// Its stock.
    pub level: Level,
    /// The customer's `u:USER` count (`crate::sale`), when the SKU counts them.
    pub counted: Option<i64>,
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
    for line in lines {
        let read = reads.get(&line.sku).ok_or_else(|| Error::unknown_sku(&line.sku))?;
        let key = store.keys().stock(&line.sku);
        let mut incr =
            |field: &str, by: i64| writes.push(redis::cmd("HINCRBY").arg(&key).arg(field).arg(by).to_owned());
        let to = counter(line.disposition);
        incr("sold", -line.quantity);
        incr(to, line.quantity);
        for from in &line.from {
            let (origin, n) = (&from.location, from.quantity);
            let destination = line.destination(origin);
            let mut at = |counter: &str, place: &crate::domain::Location, by: i64| {
                if let Some(field) = field_at(counter, place.as_str()) {
                    incr(&field, by);
                }
            };
            at("sold", origin, -n);
            at(to, destination, n);
            // Arriving elsewhere is a transfer of what each location received.
            if destination != origin {
                at("received", origin, -n);
                at("received", destination, n);
            }
        }
        let place = line.location.as_ref().map(|l| l.as_str());
        let extra: Vec<(&str, &str)> = place.map(|l| ("location", l)).into_iter().collect();
        writes.extend(record_cmds(
            store,
            &line.sku,
            kind,
            line.quantity,
            reference,
            at_ms,
            &extra,
        ));
        if line.disposition == Disposition::Damaged {
            let kind = EntryKind::Damage;
            writes.extend(record_cmds(
                store,
                &line.sku,
                kind,
                line.quantity,
                reference,
                at_ms,
                &extra,
            ));
        } else if read.level.rules.any() {
            writes.push(crossing_cmd(store, &line.sku, line.quantity, at_ms));
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
    Ok(writes)
}

/// The ledger entries of one slot's share: the units back (`kind`), then those of them that
/// went to `damaged`. The order's own share carries the return record.
pub(super) fn journal(
    store: &Inventory,
    order: &OrderId,
    kind: EntryKind,
    lines: &[ReturnLine],
    record: Option<&OrderReturn>,
    at_ms: i64,
) -> Vec<Cmd> {
    let reference = Reference::Record(RecordId::Order(*order));
    let moved = |lines: Vec<&ReturnLine>| -> Vec<OrderLine> {
        lines
            .into_iter()
            .map(|l| OrderLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
                allocations: l.from.clone(),
                returned: None,
            })
            .collect()
    };
    let slot = lines.first().map_or(order.slot(), |l| store.keys().slot_of_sku(&l.sku));
    let slot = if record.is_some() { order.slot() } else { slot };
    let mut back = Entry::new(kind, reference, at_ms).lines(moved(lines.iter().collect()));
    back.order_return = record.cloned();
    let damaged: Vec<&ReturnLine> = lines.iter().filter(|l| l.disposition == Disposition::Damaged).collect();
    let mut cmds: Vec<Cmd> = journal_cmd(store, slot, &back).into_iter().collect();
    if !damaged.is_empty() {
        let entry = Entry::new(EntryKind::Damage, reference, at_ms).lines(moved(damaged));
        cmds.extend(journal_cmd(store, slot, &entry));
    }
    cmds
}
