//! The answers, as the contract (`docs/API.md`) spells them, read into the same domain
//! types the server writes them from. Unknown fields are ignored, so a newer server that
//! adds fields still reads.

use serde::Deserialize;
use stockwatch_domain::{
    AlertKind, EntryKind, Location, OrderId, Reason, ReservationId, ReservationStatus, Sku, UserId,
};

/// Units of a SKU, in total and per location (`GET /v1/skus/{sku}` and every admin write).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Stock {
    /// The SKU.
    pub sku: Sku,
    /// Units that can be taken now (negative only after `broken` oversold).
    pub available: i64,
    /// Units held by active reservations.
    pub reserved: i64,
    /// Units sold.
    pub sold: i64,
    /// Units that came back damaged, counted but not on sale (v1.5; 0 from older servers).
    #[serde(default)]
    pub damaged: i64,
    /// Units of purchase orders on their way (v1.5).
    #[serde(default)]
    pub incoming: i64,
    /// Units of `available` kept back, never sold (v1.5).
    #[serde(default)]
    pub safety_stock: i64,
    /// Units sold as preorders, still waiting for their purchase orders (v1.5).
    #[serde(default)]
    pub preordered: i64,
    /// Per location, in draw order.
    #[serde(default)]
    pub locations: Vec<LocationStock>,
    /// Its sale settings, when it has any.
    #[serde(default)]
    pub sale: Option<crate::Sale>,
}

/// One location's units.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LocationStock {
    /// The location (`default` when none was named).
    pub location: Location,
    /// Units that can be taken there.
    pub available: i64,
    /// Units held there.
    pub reserved: i64,
    /// Units sold from there.
    pub sold: i64,
    /// Damaged units there (v1.5).
    #[serde(default)]
    pub damaged: i64,
    /// Units on their way there (v1.5).
    #[serde(default)]
    pub incoming: i64,
    /// Units kept back there (v1.5).
    #[serde(default)]
    pub safety_stock: i64,
    /// Units preordered there (v1.5).
    #[serde(default)]
    pub preordered: i64,
    /// Draw order: lower first.
    pub priority: i64,
}

/// Units a line drew from one location.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Allocation {
    /// Where from.
    pub location: Location,
    /// How many.
    pub quantity: i64,
    /// A preorder's purchase order (v1.5).
    #[serde(default)]
    pub purchase_order: Option<stockwatch_domain::PoRef>,
    /// A preorder's place in that order's queue (v1.5).
    #[serde(default)]
    pub position: Option<i64>,
}

/// The answer to a purchase (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Purchased {
    /// The new order.
    pub order_id: OrderId,
    /// What was bought.
    pub sku: Sku,
    /// How many.
    pub quantity: i64,
    /// The SKU's `available` right after.
    pub remaining: i64,
    /// Where the units came from.
    #[serde(default)]
    pub allocations: Vec<Allocation>,
    /// Sold against incoming stock (v1.5).
    #[serde(default)]
    pub preorder: bool,
    /// The purchase order a preorder waits for (v1.5).
    #[serde(default)]
    pub purchase_order: Option<stockwatch_domain::PoRef>,
    /// Transaction attempts the server made (retries after conflicts included).
    pub attempts: u32,
}

/// One line of a checkout or a new reservation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TakenLine {
    /// The SKU.
    pub sku: Sku,
    /// Units taken.
    pub quantity: i64,
    /// The SKU's `available` right after.
    pub remaining: i64,
    /// Where the units came from.
    #[serde(default)]
    pub allocations: Vec<Allocation>,
}

/// The answer to a checkout (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckedOut {
    /// The new order.
    pub order_id: OrderId,
    /// Every line, in cart order.
    pub items: Vec<TakenLine>,
    /// Transaction attempts the server made.
    pub attempts: u32,
}

/// The answer to a new reservation (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reserved {
    /// The hold.
    pub reservation_id: ReservationId,
    /// `active`.
    pub status: ReservationStatus,
    /// Every line, in cart order.
    pub items: Vec<TakenLine>,
    /// Who holds it.
    pub user_id: UserId,
    /// When it lapses unless confirmed, cancelled or extended (epoch ms).
    pub expires_at: i64,
    /// Transaction attempts the server made.
    pub attempts: u32,
}

/// A line of an order or a reservation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Line {
    /// The SKU.
    pub sku: Sku,
    /// Units.
    pub quantity: i64,
    /// Where they came from.
    #[serde(default)]
    pub allocations: Vec<Allocation>,
    /// In an order: units of the line returned or cancelled so far (v1.5).
    #[serde(default)]
    pub returned: Option<i64>,
}

/// A reservation as `GET /v1/reservations/{id}`, cancel and extend show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reservation {
    /// The hold.
    pub reservation_id: ReservationId,
    /// Where it stands.
    pub status: ReservationStatus,
    /// What it holds.
    pub items: Vec<Line>,
    /// Who holds it.
    pub user_id: UserId,
    /// When it lapses (epoch ms).
    pub expires_at: i64,
    /// When it was made (epoch ms).
    #[serde(default)]
    pub created_at: Option<i64>,
    /// The order it became, once confirmed.
    #[serde(default)]
    pub order_id: Option<OrderId>,
}

/// The answer to a confirm (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Confirmed {
    /// The new order.
    pub order_id: OrderId,
    /// The hold it came from.
    pub reservation_id: ReservationId,
    /// What was sold.
    pub items: Vec<Line>,
}

/// Which endpoint made an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderSource {
    /// `POST /v1/purchases`.
    Purchase,
    /// `POST /v1/checkouts`.
    Checkout,
    /// A confirmed reservation.
    Reservation,
}

/// An order (`GET /v1/orders/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Order {
    /// The order.
    pub order_id: OrderId,
    /// Who bought.
    pub user_id: UserId,
    /// What was sold.
    pub items: Vec<Line>,
    /// When (epoch ms).
    pub created_at: i64,
    /// Which endpoint made it.
    pub source: OrderSource,
    /// The reservation it confirmed, when `source` is `reservation`.
    #[serde(default)]
    pub reservation_id: Option<ReservationId>,
    /// Where it is in its life (v1.5; `None` from older servers).
    #[serde(default)]
    pub status: Option<stockwatch_domain::OrderStatus>,
    /// Its returns and its cancellation, oldest first (v1.5).
    #[serde(default)]
    pub returns: Vec<crate::OrderReturn>,
}

/// One entry of a SKU's history.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Movement {
    /// Its stream id.
    pub id: String,
    /// What happened.
    pub kind: EntryKind,
    /// Units it moved.
    pub quantity: i64,
    /// The order or reservation it belongs to, or `admin`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// When (epoch ms).
    pub at: i64,
    /// The location, when one was named.
    #[serde(default)]
    pub location: Option<Location>,
    /// A transfer's destination.
    #[serde(default)]
    pub to: Option<Location>,
    /// An adjustment's reason.
    #[serde(default)]
    pub reason: Option<Reason>,
}

/// A SKU's alert rules (`PUT`/`GET /v1/skus/{sku}/alerts`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlertRules {
    /// The SKU.
    pub sku: Sku,
    /// `low_stock` below this; `None`: no rules.
    pub low_stock_threshold: Option<i64>,
    /// `reorder` below this.
    #[serde(default)]
    pub reorder_point: Option<i64>,
    /// How many to reorder.
    #[serde(default)]
    pub reorder_quantity: Option<i64>,
}

/// An alert raised by a crossing (or by contention).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Alert {
    /// The same on every delivery and replay: receivers dedupe on it.
    pub id: String,
    /// What crossed.
    #[serde(rename = "type")]
    pub kind: AlertKind,
    /// The SKU.
    pub sku: Sku,
    /// `available` after the change.
    pub available: i64,
    /// The rule crossed.
    pub threshold: i64,
    /// When (epoch ms).
    pub at: i64,
    /// How many to reorder (`reorder` only).
    #[serde(default)]
    pub quantity: Option<i64>,
}

/// A SKU (or a location of one) below its threshold now.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LowStock {
    /// The SKU.
    pub sku: Sku,
    /// The location, when the list was asked per location.
    #[serde(default)]
    pub location: Option<Location>,
    /// Units available.
    pub available: i64,
    /// Its threshold.
    pub threshold: i64,
}

/// A webhook as the server shows it: never with its secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Webhook {
    /// Its id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The alert types it receives.
    pub events: Vec<AlertKind>,
    /// When it was registered (epoch ms).
    pub created_at: i64,
}

/// A delivery that ran out of retries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeadLetter {
    /// `<alert id>/<webhook id>`.
    pub id: String,
    /// The webhook it was for.
    pub webhook_id: String,
    /// The alert it carried.
    pub alert: Alert,
    /// Tries made.
    pub attempts: u32,
    /// The last failure.
    pub error: String,
    /// When it was given up on (epoch ms).
    pub at: i64,
}

/// What a dead-letter replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ReplayReport {
    /// Delivered now, and removed.
    pub delivered: usize,
    /// Letters left.
    pub remaining: usize,
    /// Tried and failed again.
    pub failed: usize,
    /// Left untried by the deadline: call again.
    pub untried: usize,
}

/// One event of `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A SKU's stock after a change, and the kind of change.
    Stock {
        /// The stock object.
        stock: Stock,
        /// The movement kind that changed it.
        kind: String,
    },
    /// An alert.
    Alert(Alert),
}

/// What an import did (`POST /v1/skus/import`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImportSummary {
    /// Rows that created their SKU.
    pub created: u64,
    /// Rows that changed an existing SKU.
    pub changed: u64,
    /// Rows equal to what was stored: nothing written.
    pub unchanged: u64,
    /// Rows not applied, in line order.
    pub refused: Vec<RefusedRow>,
}

/// One import row not applied.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefusedRow {
    /// Its line, from 1.
    pub line: u64,
    /// The contract's error code.
    pub error: String,
    /// Why.
    pub message: String,
}

/// What retiring a SKU did (`DELETE /v1/skus/{sku}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Retired {
    /// The SKU, which no longer exists.
    pub sku: Sku,
    /// The units that were available, written off.
    pub written_off: i64,
    /// The units its orders hold; they stay readable.
    pub sold: i64,
    /// Unix epoch milliseconds.
    pub retired_at: i64,
}
