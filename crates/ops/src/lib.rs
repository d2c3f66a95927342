//! # stockwatch-ops: every stock operation
//!
//! Purchases, checkouts, holds and their transitions, the stockroom (levels, locations,
//! transfers, adjustments), sagas across cluster slots, alerts decided inside the change
//! that crosses them, and [`expiry`], the worker that releases lapsed holds. Each runs on
//! `watch`, `lua` or `broken` over `stockwatch-store`.
//!
//! Every operation runs on an [`Inventory`]: the process's store, with what the operations
//! keep per process beside it (group commit's queues, the alert feed, conflicts per SKU).
//! Make one per process and share it.
//!
//! One file per operation. An operation that must be atomic implements
//! [`crate::txn::Optimistic`] (its watch keys, read and decision) and, where the contract
//! offers it, a Lua twin in `lua/`.
//!
//! A purchase, followed from the handler: `purchase.rs` validates nothing (the edge did)
//! and hands the cart to `sell.rs`, which claims its `Idempotency-Key` (`idempotency.rs`),
//! builds a `Take` (`take/`) and runs it on its strategy: group commit (`take/batch.rs`,
//! then `take/watch_batch.rs` or one `take.lua` call for many buyers), the textbook engine
//! (`take/multi.rs` over `txn`), or a saga (`saga/`) for a cart across cluster slots. The
//! decision itself is `take/decide.rs` (and its Lua twin); `journal.rs` adds the ledger
//! entry and `alerts/` the alert check to the same MULTI or script.
//! `answered.rs` turns the run into the caller's answer (a commit, a replay, a refusal)
//! and reports it: metrics, and a stock event when it committed.
//!
//! `upgrade.rs` runs the one-time conversions of stores earlier versions wrote; one of
//! them, `settings_mark.rs`, lets a `lua` take skip the settings of a SKU that has none.

#![recursion_limit = "256"]

pub mod expiry;

// The layers below, by the names this crate's modules use for them.
use stockwatch_core::{convert, domain, error, outcome};
use stockwatch_store::{self as store, events, txn};

mod adjust;
mod after_sale;
pub mod alerts;
mod allocation;
mod answered;
mod cancel;
pub mod catalog;
mod checkout;
mod confirm;
mod expire;
pub mod export;
mod extend;
mod get_order;
mod get_reservation;
mod get_stock;
pub mod history_upgrade;
mod hold_writes;
mod idempotency;
pub mod import;
pub mod incoming;
mod increments;
mod inventory;
pub mod journal;
pub mod level;
mod movements;
mod purchase;
mod purchase_order;
pub mod queue;
mod reservation;
mod reserve;
mod restock;
mod retire;
mod saga;
pub mod sale;
mod sell;
mod set_preorders;
mod set_sale;
mod set_stock;
pub mod settings_mark;
mod stockroom;
mod take;
mod transfer;
mod upgrade;
mod verify;

pub use crate::domain::{Correction, Reason};
pub use adjust::adjust;
pub use after_sale::{OrderReturn, ReturnLine, Returned, cancel_order, return_order, settle_return};
pub(crate) use answered::{Answered, Unwritten, answer, effort_of, finished, report, run_admin};
pub use cancel::cancel;
pub use checkout::{Checkout, CheckoutLine, checkout};
pub use confirm::{Confirmed, confirm};
pub use expire::{Expired, expire};
pub use extend::extend;
pub use get_order::get_order;
pub use get_reservation::get_reservation;
pub use get_stock::get_stock;
pub use idempotency::{Answer, Idempotency, once};
pub use incoming::{Incoming, PurchaseOrder, PurchaseOrders, expect, purchase_orders, receive};
pub use inventory::Inventory;
pub use movements::{Movement, Movements, movements};
pub use purchase::{Purchase, purchase, purchase_from};
pub use reservation::Reservation;
pub use reserve::{Reserved, reserve};
pub use restock::restock;
pub use retire::{Retired, RetiredUnits, retire, retired_units};
pub use set_preorders::{PreorderSettings, set_preorders};
pub use set_sale::{SaleSettings, get_sale, set_sale};
pub use set_stock::{set_location_stock, set_stock};
pub use transfer::transfer;
pub use upgrade::upgrade;
pub use verify::{Report, Violation, verify};

use crate::domain::{CartItems, EntryKind, Location, OrderId, OrderStatus, Reference, ReservationId, Sku, UserId};
pub use crate::outcome::Effort;
use level::Allocation;
use serde::{Deserialize, Serialize};

/// The stock object of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Stock {
    /// The SKU.
    pub sku: Sku,
    /// Units that can be bought or reserved now. Negative only after `broken` oversold.
    pub available: i64,
    /// Units held by active reservations.
    pub reserved: i64,
    /// Units in orders.
    pub sold: i64,
    /// Units that came back damaged (v1.5): counted, never sold.
    pub damaged: i64,
    /// Units of purchase orders on their way (v1.5), not received yet.
    pub incoming: i64,
    /// Units of `available` kept back, never sold (v1.5): takes see `available` less it.
    pub safety_stock: i64,
    /// Units sold or held as preorders, waiting for their purchase orders (v1.5): part of
    /// `sold` and `reserved`, not of `incoming`'s room.
    pub preordered: i64,
    /// Where the units are, in draw order; a SKU that never had a named location has just
    /// `default`, holding everything.
    pub locations: Vec<LocationStock>,
    /// Its sale settings, when it has any (`PUT …/sale`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale: Option<sale::Sale>,
    /// Its preorder settings, when preorders are on (`PUT …/preorders`, v1.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preorders: Option<level::Preorders>,
}

/// The counters of one location of a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LocationStock {
    /// The location.
    pub location: Location,
    /// Units that can be taken there now.
    pub available: i64,
    /// Units held there by active reservations.
    pub reserved: i64,
    /// Units sold from there.
    pub sold: i64,
    /// Damaged units there (v1.5).
    pub damaged: i64,
    /// Units of purchase orders on their way there (v1.5).
    pub incoming: i64,
    /// Units kept back there (v1.5).
    pub safety_stock: i64,
    /// Units preordered there (v1.5).
    pub preordered: i64,
    /// Lower is drawn from first.
    pub priority: i64,
}

/// How an order came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderSource {
    /// `POST /v1/purchases`.
    Purchase,
    /// `POST /v1/checkouts`.
    Checkout,
    /// A confirmed reservation.
    Reservation,
}

// The field order is part of take.lua's contract (a line's allocations are spliced in
// after its quantity, the last field without them): see `take::lua_layout::LINE_QUANTITY`.
// A plain comment, so the OpenAPI description stays the contract's.
/// One line of a stored order or reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderLine {
    /// The SKU sold or held.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// Units sold or held.
    pub quantity: i64,
    /// Where the units came from. Stored only when not all from `default`; filled in on
    /// every read ([`OrderLine::with_allocations`]), so answers always show it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<Allocation>,
    /// In orders: units of this line returned or cancelled so far. Never stored (an order's
    /// returns say it); filled in on every read of an order ([`Order::with_allocations`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<i64>,
    /// `true` for a line sold or held against incoming stock (v1.5). Never stored (its
    /// allocation says it); filled in on every read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preorder: Option<bool>,
    /// The purchase order a preorder line waits for. Never stored, like `preorder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub purchase_order: Option<crate::domain::PoRef>,
    /// In orders: a preorder line's units still waiting for their purchase order. Never
    /// stored; filled in when an order is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<i64>,
}

impl OrderLine {
    /// This line's allocations, `default` for all of it when none were stored.
    pub fn drawn(&self) -> Vec<Allocation> {
        if self.allocations.is_empty() {
            Allocation::all_default(self.quantity)
        } else {
            self.allocations.clone()
        }
    }

    /// Fills in stored-as-nothing allocations, for answers.
    pub fn with_allocations(mut lines: Vec<Self>) -> Vec<Self> {
        for line in &mut lines {
            line.allocations = line.drawn();
            line.purchase_order = Allocation::preorder_of(&line.allocations).cloned();
            line.preorder = line.purchase_order.is_some().then_some(true);
        }
        lines
    }

    /// Records `drawn` on each line, as stored: nothing for a line all from `default`.
    pub fn allocate(lines: &mut [Self], drawn: &[Vec<Allocation>]) {
        for (line, drawn) in lines.iter_mut().zip(drawn) {
            line.allocations = if Allocation::is_all_default(drawn) {
                Vec::new()
            } else {
                drawn.clone()
            };
        }
    }

    /// The lines of a validated cart, as stored.
    pub fn of(items: &CartItems) -> Vec<Self> {
        items
            .lines()
            .iter()
            .map(|l| Self::new(l.sku.clone(), l.quantity.get(), Vec::new()))
            .collect()
    }

    /// `quantity` units of `sku` drawn as `allocations` (empty: all from `default`).
    pub fn new(sku: Sku, quantity: i64, allocations: Vec<Allocation>) -> Self {
        Self {
            sku,
            quantity,
            allocations,
            returned: None,
            preorder: None,
            purchase_order: None,
            waiting: None,
        }
    }
}

/// An order as stored (JSON) and as `GET /v1/orders/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    /// UUIDv7, time-ordered.
    #[schema(value_type = String)]
    pub order_id: OrderId,
    /// Who bought.
    #[schema(value_type = String)]
    pub user_id: UserId,
    /// What was sold.
    pub items: Vec<OrderLine>,
    /// Unix epoch milliseconds.
    pub created_at: i64,
    /// Which endpoint made it.
    pub source: OrderSource,
    /// The reservation it confirmed, when `source` is `reservation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reservation_id: Option<ReservationId>,
    /// v1.5: `placed`, `cancelled`, `partially_returned` or `returned`. Never stored (its
    /// returns say it); filled in on every read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub status: Option<OrderStatus>,
    /// v1.5: its returns, and its cancellation (`"cancel": true`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<after_sale::OrderReturn>,
}

impl Order {
    /// The order as stored: its JSON, written into a buffer of a typical order's size (about
    /// 240 bytes) rather than grown from empty, as every sale writes one.
    pub(crate) fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        serde_json::to_writer(&mut out, self).expect("order serializes");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// This order as answered: every line's allocations shown (`default` where none were
    /// stored) and its `returned`, and the order's `status`.
    pub fn with_allocations(self) -> Self {
        let mut items = OrderLine::with_allocations(self.items.clone());
        for line in &mut items {
            line.returned = Some(self.returned(&line.sku));
        }
        let status = Some(self.derived_status());
        let mut returns = self.returns;
        for ret in &mut returns {
            // Bookkeeping of the slots a cross-slot return is still settling: not the client's.
            ret.pending.clear();
        }
        Self {
            status,
            items,
            returns,
            ..self
        }
    }
}

/// A subscription to the alerts raised from now on, by any process on this Redis.
pub fn subscribe_alerts(store: &Inventory) -> tokio::sync::broadcast::Receiver<alerts::Alert> {
    store.alerts().subscribe(store)
}

/// Milliseconds since the Unix epoch, the contract's time unit.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, convert::millis_i64)
}

/// The ledger entry of an admin change of one SKU (`set` or `restock`), if the ledger is on.
pub(crate) fn admin_entry(
    store: &Inventory,
    sku: &Sku,
    kind: EntryKind,
    quantity: i64,
    at_ms: i64,
) -> Option<redis::Cmd> {
    let line = OrderLine::new(sku.clone(), quantity, Vec::new());
    let entry = journal::Entry::new(kind, Reference::Admin, at_ms).lines(vec![line]);
    journal::journal_cmd(store, store.keys().slot_of_sku(sku), &entry)
}

/// Appends the read of a whole stock hash (decoded by [`level::Level::parse`]); shared by the
/// admin operations, which need every location.
pub(crate) fn read_stock(store: &Inventory, sku: &Sku, pipe: &mut redis::Pipeline) {
    pipe.cmd("HGETALL").arg(store.keys().stock(sku));
}
