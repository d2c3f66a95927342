//! What the takes of one MULTI write once, at its end, however many they are: their orders,
//! one `MSET`; their movements, one `LPUSH` per SKU ([`MovementLog`]); their counter moves,
//! one `HINCRBY` per key and field ([`Increments`]); and their holds' entries in the expiry
//! index, one `ZADD` per index. A batch of fifty buyers of one SKU then queues a handful of
//! writes, not two hundred. (A batch's orders share its slot, so one `MSET` is legal on a
//! cluster too; nothing in the MULTI reads an order, so where it is written does not matter.)

use crate::Inventory;
use crate::domain::RecordId;
use crate::increments::Increments;
use crate::movements::MovementLog;
use redis::Cmd;
use std::borrow::Cow;

/// The writes a MULTI's takes share, gathered while each take is decided.
#[derive(Debug, Default)]
pub(crate) struct Tail<'a> {
    /// Every take's movements.
    pub(crate) log: MovementLog,
    /// Every take's counter moves, but those of SKUs with alert rules (see `Take::writes`).
    pub(crate) counters: Increments<'a>,
    /// Every hold's entry, by expiry index (a batch's holds share their slot's).
    expiring: Vec<(&'a str, Vec<(i64, RecordId)>)>,
    /// Every sale's order record: key and JSON.
    orders: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> Tail<'a> {
    /// Indexes the hold `id` in `index` at its deadline.
    pub(crate) fn expire_at(&mut self, index: &'a str, expires_at: i64, id: RecordId) {
        match self.expiring.iter_mut().find(|(i, _)| *i == index) {
            Some((_, entries)) => entries.push((expires_at, id)),
            None => self.expiring.push((index, vec![(expires_at, id)])),
        }
    }

    /// Writes the order record `json` at `key`.
    pub(crate) fn order(&mut self, key: &'a str, json: Cow<'a, str>) {
        self.orders.push((key, json));
    }

    /// The writes, for the end of the MULTI: orders, counters, expiry entries, then
    /// movements.
    pub(crate) fn cmds(self, store: &Inventory) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        if !self.orders.is_empty() {
            let mut mset = redis::cmd("MSET");
            for (key, json) in &self.orders {
                mset.arg(*key).arg(json.as_ref());
            }
            cmds.push(mset);
        }
        cmds.extend(self.counters.cmds());
        for (index, entries) in self.expiring {
            let mut zadd = redis::cmd("ZADD");
            zadd.arg(index);
            for (at, id) in entries {
                zadd.arg(at).arg(id);
            }
            cmds.push(zadd);
        }
        cmds.extend(self.log.cmds(store));
        cmds
    }
}
