//! The ledger feed: what each change tells the books, written to its slot's stream
//! (`sw:ledger:{T}`) in the same MULTI or script as the change, so the feed can never miss a
//! committed change nor hold one that did not commit. The projector (`crate::ledger`) moves
//! it into PostgreSQL.
//!
//! One entry per change, one field `e` holding [`Entry`] as JSON. Its lines move stock by
//! the entry's `kind` ([`EntryKind::deltas`]); an order or reservation snapshot rides along when the
//! change created or changed one. The format is versioned (`v`), since entries outlive the
//! binary that wrote them.

// Through the parent's re-exports: `reservation` writes entries, so naming it here would
// make a circle.
use super::level::Allocation;
use super::{Order, OrderLine, Reservation};

use crate::Inventory;
use crate::domain::{EntryKind, Reference};
use serde::{Deserialize, Serialize};

/// The format version this binary writes and reads.
pub const VERSION: u32 = 1;

/// One change, as the ledger sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Format version ([`VERSION`]).
    pub v: u32,
    /// What the change did: a movement kind when `lines` move stock, `order` or `extend`
    /// for a record alone.
    pub kind: EntryKind,
    /// The order or reservation the change belongs to (`admin` for set and restock).
    #[serde(rename = "ref")]
    pub reference: String,
    /// When, epoch ms.
    pub at: i64,
    /// The stock moved, per SKU, as `kind` moves it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<OrderLine>,
    /// An order this change created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    /// A reservation as this change left it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<Reservation>,
    /// For one slot's hold of a cross-slot cart: the order or reservation it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saga_parent: Option<String>,
    /// A return (or the cancellation) this change recorded in its order (`ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_return: Option<super::OrderReturn>,
}

impl Entry {
    /// An entry of `kind` about `reference`, with nothing in it yet.
    pub fn new(kind: EntryKind, reference: Reference, at: i64) -> Self {
        Self {
            v: VERSION,
            kind,
            reference: reference.to_string(),
            at,
            lines: Vec::new(),
            order: None,
            reservation: None,
            saga_parent: None,
            order_return: None,
        }
    }

    /// With these lines moved.
    pub fn lines(mut self, lines: Vec<OrderLine>) -> Self {
        self.lines = lines;
        self
    }

    /// With the order it created.
    pub fn order(mut self, order: &Order) -> Self {
        self.order = Some(order.clone());
        self
    }

    /// With the reservation as the change left it (and its saga parent, if a part).
    pub fn reservation(mut self, resv: &Reservation) -> Self {
        self.saga_parent = resv.saga.as_ref().map(ToString::to_string);
        self.reservation = Some(resv.clone());
        self
    }

    /// The JSON stored in the entry's `e` field.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("entries serialize")
    }
}

/// The XADD of `entry` to the feed of `slot` ([`Store::feed_slot`]), or nothing when the
/// ledger is off. Called while a step builds its writes, so the entry commits with them.
/// Its slot was listed for the projectors before the step ran ([`Store::list_journal_slot`]).
pub(crate) fn journal_cmd(store: &Inventory, slot: u16, entry: &Entry) -> Option<redis::Cmd> {
    store.config().journal.then(|| xadd(store, slot, &entry.to_json()))
}

/// The entry's JSON, built only when the ledger is on: a take encodes it once, not per
/// attempt, and costs nothing with the ledger off.
pub(crate) fn encoded(store: &Inventory, entry: impl FnOnce() -> Entry) -> Option<String> {
    store.config().journal.then(|| entry().to_json())
}

/// An encoded entry with `drawn` recorded on its lines, its order's and its reservation's,
/// for a take that drew from named locations (`take.lua` splices the same text in).
pub(crate) fn with_allocations(json: &str, drawn: &[Vec<Allocation>]) -> String {
    let Ok(mut entry) = serde_json::from_str::<Entry>(json) else {
        return json.to_owned();
    };
    OrderLine::allocate(&mut entry.lines, drawn);
    if let Some(order) = &mut entry.order {
        OrderLine::allocate(&mut order.items, drawn);
    }
    if let Some(resv) = &mut entry.reservation {
        OrderLine::allocate(&mut resv.items, drawn);
    }
    entry.to_json()
}

/// The XADD of an encoded entry to the feed of `slot`.
pub(crate) fn xadd(store: &Inventory, slot: u16, json: &str) -> redis::Cmd {
    redis::cmd("XADD")
        .arg(store.keys().ledger_feed(store.feed_slot(slot)))
        .arg("*")
        .arg("e")
        .arg(json)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_movement_kind_conserves_stock_but_set_and_restock() {
        use EntryKind::*;
        for kind in [Purchase, Checkout, Reserve, Confirm, Cancel, Expire] {
            let [a, r, s, rec, d] = kind.deltas().unwrap();
            assert_eq!(a + r + s + d, rec, "{kind}");
            assert_eq!(rec, 0, "{kind}");
        }
        for kind in [CancelOrder, Return, Damage, Restore] {
            let [a, r, s, rec, d] = kind.deltas().unwrap();
            assert_eq!((a + r + s + d, rec), (0, 0), "{kind}");
        }
        for kind in [Set, Restock] {
            let [a, r, s, rec, d] = kind.deltas().unwrap();
            assert_eq!((a + r + s + d, rec), (1, 1));
        }
        let [a, r, s, rec, d] = WriteOff.deltas().unwrap();
        assert_eq!((a + r + s + d, rec), (-1, -1));
        assert_eq!(Order.deltas(), None);
        assert_eq!(Extend.deltas(), None);
    }

    #[test]
    fn entries_round_trip_and_skip_what_is_empty() {
        let entry = Entry::new(EntryKind::Restock, Reference::Admin, 5).lines(vec![OrderLine::new(
            crate::domain::Sku::parse("A").unwrap(),
            3,
            Vec::new(),
        )]);
        let json = entry.to_json();
        assert!(!json.contains("order") && !json.contains("reservation"), "{json}");
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
    }
}
