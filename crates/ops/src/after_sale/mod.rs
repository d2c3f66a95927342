//! An order's life after its sale: cancellations and returns.
//!
//! Both put an order's units back, so both are one thing here: a *return* recorded in the
//! order (a cancellation is the return of everything, marked `cancel`). The order's
//! status and each line's `returned` are derived from its returns, never stored apart
//! from them, so they cannot disagree.
//!
//! - `engine.rs`: the one optimistic transaction behind both. It watches the order (two
//!   returns racing for the same units: one EXEC aborts, re-reads, and sees the other's),
//!   its idempotent answer and the stock of the lines in the order's slot, and writes the
//!   order, the stock, movements, alerts, customer counts and the ledger entry together.
//! - `cancel.rs`, `returns.rs`: the two steps, each deciding what comes back.
//! - `writes.rs`: what putting a line back writes in its SKU's slot.
//! - `remote.rs`: on a cluster, an order whose lines live in several slots (a cross-slot
//!   cart's): the order's slot decides and records the return with the other slots
//!   *pending*; each pending slot is then put back once, guarded by a marker written in
//!   that slot's own transaction; the expiry worker finishes what a crashed process left.

mod cancel;
mod engine;
mod remote;
mod returns;
mod writes;

pub use cancel::cancel_order;
pub(crate) use remote::parse_member;
pub use remote::settle as settle_return;
pub use returns::{Returned, return_order};

use super::level::Allocation;
use super::{Order, OrderLine};
use crate::domain::{Disposition, Location, OrderStatus, ReturnId, Sku};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One return (or the cancellation) of an order, as stored in the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderReturn {
    /// Its id.
    #[schema(value_type = String)]
    pub return_id: ReturnId,
    /// True for the order's cancellation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancel: bool,
    /// When, epoch ms.
    pub at: i64,
    /// What came back.
    pub lines: Vec<ReturnLine>,
    /// On a cluster, slots whose lines are still being put back (for a moment, or until the
    /// expiry worker finishes what a crashed process left). Stored, never answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(ignore)]
    pub pending: Vec<u16>,
}

/// One line of a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReturnLine {
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// Units that came back.
    pub quantity: i64,
    /// `restock` or `damaged`.
    #[schema(value_type = String)]
    pub disposition: Disposition,
    /// Where they went; absent: each unit to the location it was sold from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Location>,
    /// The locations whose sales they undo (the line's allocations they came off).
    pub from: Vec<Allocation>,
}

impl ReturnLine {
    /// Units of a preorder still waiting for their purchase order: they go back to its
    /// room, not to a shelf.
    pub(crate) fn still_waiting(&self) -> i64 {
        self.from
            .iter()
            .filter(|a| a.purchase_order.is_some())
            .map(|a| a.quantity)
            .sum()
    }

    /// Where the units from `origin` go.
    pub(crate) fn destination<'a>(&'a self, origin: &'a Location) -> &'a Location {
        self.location.as_ref().unwrap_or(origin)
    }
}

/// Whether `sku`'s stock moves in the order's own transaction: always on one Redis; on a
/// cluster when it shares the order's slot.
fn at_home(store: &crate::Inventory, order: &crate::domain::OrderId, sku: &Sku) -> bool {
    !store.is_cluster() || store.keys().slot_of_sku(sku) == order.slot()
}

impl Order {
    /// Units of `sku` returned or cancelled so far.
    pub fn returned(&self, sku: &Sku) -> i64 {
        self.return_lines(sku).map(|l| l.quantity).sum()
    }

    fn return_lines<'a>(&'a self, sku: &'a Sku) -> impl Iterator<Item = &'a ReturnLine> + 'a {
        self.returns
            .iter()
            .flat_map(|r| &r.lines)
            .filter(move |l| l.sku == *sku)
    }

    /// What of `line` is still sold, per location: its allocations less what returns took
    /// off them, in draw order, empty locations left out.
    pub fn still_sold(&self, line: &OrderLine) -> Vec<Allocation> {
        let mut taken: BTreeMap<&str, i64> = BTreeMap::new();
        for from in self.return_lines(&line.sku).flat_map(|l| &l.from) {
            *taken.entry(from.location.as_str()).or_default() += from.quantity;
        }
        line.drawn()
            .into_iter()
            .filter_map(|mut a| {
                let off = taken.get(a.location.as_str()).copied().unwrap_or(0);
                a.quantity -= off;
                (a.quantity > 0).then_some(a)
            })
            .collect()
    }

    /// Where the order is in its life.
    pub fn derived_status(&self) -> OrderStatus {
        if self.returns.iter().any(|r| r.cancel) {
            return OrderStatus::Cancelled;
        }
        let returned: i64 = self.returns.iter().flat_map(|r| &r.lines).map(|l| l.quantity).sum();
        let sold: i64 = self.items.iter().map(|l| l.quantity).sum();
        match returned {
            0 => OrderStatus::Placed,
            r if r >= sold => OrderStatus::Returned,
            _ => OrderStatus::PartiallyReturned,
        }
    }

    /// The lines of a cross-slot order's return that live in `slot`.
    pub(crate) fn lines_in(&self, store: &crate::Inventory, ret: &OrderReturn, slot: u16) -> Vec<ReturnLine> {
        ret.lines
            .iter()
            .filter(|l| store.keys().slot_of_sku(&l.sku) == slot)
            .cloned()
            .collect()
    }
}
