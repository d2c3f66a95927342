//! The writes that end a hold (confirm, cancel, expire) or give it a new deadline (extend):
//! what every transition of a reservation commits besides the record itself.

use crate::OrderLine;
use crate::alerts::crossing_cmd;
use crate::domain::{EntryKind, RecordId, Reference};
use crate::error::Error;
use crate::increments::shift;
use crate::journal::{Entry, journal_cmd};
use crate::level::Allocation;
use crate::movements::record_cmds;
use crate::purchase_order::PurchaseOrder;
use crate::reservation::Reservation;
use crate::{Inventory, convert};
use redis::Cmd;

impl Reservation {
    /// The writes that end this hold: every line leaves `reserved` for `to` (`sold` or
    /// `available`) with a movement of `kind`; the record takes its terminal status, drops
    /// out of the expiry index, and is deleted by TTL after the retention period.
    /// A stored line whose SKU does not parse is corrupt data: refused, never skipped, since
    /// skipping it would end the hold without giving its units back.
    pub(crate) fn end(
        &self,
        store: &Inventory,
        ended: &Self,
        to: &str,
        kind: EntryKind,
        now_ms: i64,
    ) -> Result<Vec<Cmd>, Error> {
        let mut writes = Vec::with_capacity(self.items.len() * 3 + 3);
        // A cross-slot reservation's units are in its parts, which follow it after the commit.
        let held_here = if self.parts.is_empty() { &self.items[..] } else { &[] };
        let mut moved = Vec::with_capacity(held_here.len());
        for line in held_here {
            let sku = &line.sku;
            let key = store.keys().stock(sku);
            // Each unit goes back to (or is sold from) the location it was drawn from; a
            // preorder's units still waiting go back to their purchase order instead.
            let (shelf, waiting) = match to {
                "available" => self.released(line),
                _ => (line.drawn(), Vec::new()),
            };
            writes.extend(shift(&key, &shelf, Some("reserved"), Some(to)));
            writes.extend(shift(&key, &waiting, Some("reserved"), None));
            writes.extend(self.requeued(store, line, &waiting));
            let back: i64 = shelf.iter().map(|a| a.quantity).sum();
            if to == "available" && back > 0 {
                writes.push(crossing_cmd(store, sku, back, now_ms, true));
            }
            // The books move the two parts apart (`EntryKind::preorder_deltas`).
            if !shelf.is_empty() {
                moved.push(OrderLine::new(sku.clone(), back, shelf));
            }
            if !waiting.is_empty() {
                moved.push(OrderLine::new(sku.clone(), line.quantity - back, waiting));
            }
            writes.extend(record_cmds(
                store,
                sku,
                kind,
                line.quantity,
                Reference::Record(RecordId::Reservation(self.reservation_id)),
                now_ms,
                &[],
            ));
        }
        // The customer's counts: the hold is no longer active; its units stop counting
        // unless they were sold.
        let [units, holds] = crate::sale::count_fields(&self.user_id);
        let was_hold = self.counts_as_hold();
        for sku in &self.counted {
            let counts = store.keys().customers(sku);
            if was_hold {
                writes.push(redis::cmd("HINCRBY").arg(&counts).arg(&holds).arg(-1).to_owned());
            }
            if to == "available"
                && let Some(line) = self.items.iter().find(|l| l.sku == *sku)
            {
                writes.push(
                    redis::cmd("HINCRBY")
                        .arg(&counts)
                        .arg(&units)
                        .arg(-line.quantity)
                        .to_owned(),
                );
            }
        }
        let key = store.keys().reservation(&self.reservation_id);
        let mut hset = redis::cmd("HSET");
        hset.arg(&key).arg(ended.to_fields()).arg("ended_at").arg(now_ms);
        writes.push(hset);
        writes.push(
            redis::cmd("PEXPIRE")
                .arg(&key)
                .arg(convert::millis(store.config().retention))
                .to_owned(),
        );
        writes.push(
            redis::cmd("ZREM")
                .arg(store.keys().expiry(self.reservation_id.slot()))
                .arg(self.reservation_id.to_string())
                .to_owned(),
        );
        let entry = Entry::new(
            kind,
            Reference::Record(RecordId::Reservation(self.reservation_id)),
            now_ms,
        )
        .lines(moved)
        .reservation(ended);
        writes.extend(journal_cmd(store, self.reservation_id.slot(), &entry));
        Ok(writes)
    }
}

impl Reservation {
    /// A released line's allocations, split: units going back to a shelf (a preorder's
    /// filled ones among them) and a preorder's units still waiting for their purchase
    /// order (as read in [`Self::queues`]).
    fn released(&self, line: &OrderLine) -> (Vec<Allocation>, Vec<Allocation>) {
        let orders = self.queues.get(&line.sku).map_or(&[][..], Vec::as_slice);
        let (mut shelf, mut waiting) = (Vec::new(), Vec::new());
        for a in line.drawn() {
            let (on_shelf, still) = PurchaseOrder::split(a, orders);
            shelf.extend(on_shelf);
            waiting.extend(still);
        }
        (shelf, waiting)
    }

    /// The purchase order of `line`'s units still `waiting`, given them back.
    fn requeued(&self, store: &Inventory, line: &OrderLine, waiting: &[Allocation]) -> Option<Cmd> {
        let a = waiting.first()?;
        let (reference, position) = (a.purchase_order.as_ref()?, a.position?);
        let order = self.queues.get(&line.sku)?.iter().find(|o| &o.reference == reference)?;
        let mut order = order.clone();
        order.dequeue(position);
        Some(
            redis::cmd("HSET")
                .arg(store.keys().stock(&line.sku))
                .arg(PurchaseOrder::field(reference))
                .arg(order.encode())
                .to_owned(),
        )
    }

    /// The writes that give this active hold a new deadline: the hash, its expiry index
    /// entry (a cross-slot reservation is not indexed: its parts are, and follow it), and
    /// the ledger entry; and the reservation as they leave it.
    pub(crate) fn rearm(&self, store: &Inventory, expires_at: i64, now_ms: i64) -> (Vec<Cmd>, Self) {
        let id = self.reservation_id;
        let mut writes = vec![
            redis::cmd("HSET")
                .arg(store.keys().reservation(&id))
                .arg("expires_at")
                .arg(expires_at)
                .to_owned(),
        ];
        if self.parts.is_empty() {
            writes.push(
                redis::cmd("ZADD")
                    .arg(store.keys().expiry(id.slot()))
                    .arg(expires_at)
                    .arg(id.to_string())
                    .to_owned(),
            );
        }
        let rearmed = Self {
            expires_at,
            ..self.clone()
        };
        let entry =
            Entry::new(EntryKind::Extend, Reference::Record(RecordId::Reservation(id)), now_ms).reservation(&rearmed);
        writes.extend(journal_cmd(store, id.slot(), &entry));
        (writes, rearmed)
    }
}
