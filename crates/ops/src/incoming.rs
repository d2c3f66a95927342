//! Purchase orders: stock on its way (v1.5).
//!
//! A purchase order lives in its SKU's stock hash, one field per order, `po:REF` →
//! `quantity,received,expected_at_ms,location` (short enough to keep the hash a listpack),
//! beside the counters `incoming` and `incoming@L`: units on their way, no part of
//! `received` until they arrive. So an order and the counters change in one transaction
//! that watches one key, and `verify` checks `incoming` against the orders it reads with
//! the level. Receiving moves units from `incoming` to `available` (and `received`) at the
//! order's location, less what the order's preorders take (`crate::purchase_order`).
//! Reorder alerts count `available + incoming` (`lua/alerts.lua`).

use super::Stock;
use super::stockroom::{self, Change, Step};
use crate::Inventory;
use crate::domain::{EntryKind, Location, PoRef, Quantity, Sku, Timestamp};
use crate::error::{Error, StoreError};
use crate::level::Level;
pub use crate::purchase_order::PurchaseOrder;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// The answer of a purchase order's creation or receipt: the order, and the stock after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Incoming {
    /// The purchase order as the change left it.
    pub purchase_order: PurchaseOrder,
    /// The SKU's stock.
    pub stock: Stock,
}

/// The `200` body of `GET /v1/skus/{sku}/incoming`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PurchaseOrders {
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// Its purchase orders, soonest expected first (received ones included).
    pub purchase_orders: Vec<PurchaseOrder>,
}

/// `POST /v1/skus/{sku}/incoming` (admin): `quantity` units on their way to `location`,
/// expected at `expected_at`, under the shop's reference (once per SKU).
pub async fn expect(
    store: &Inventory,
    sku: &Sku,
    reference: &PoRef,
    quantity: Quantity,
    expected_at: Timestamp,
    location: &Location,
) -> Result<Incoming, Error> {
    let order = PurchaseOrder::new(reference.clone(), quantity.get(), expected_at, location.clone());
    let step = Expect(order.clone());
    let stock = stockroom::run(store, EntryKind::Expect, sku, step).await?;
    Ok(Incoming {
        purchase_order: order,
        stock,
    })
}

struct Expect(PurchaseOrder);

impl Step for Expect {
    const READS_FIELDS: bool = true;

    fn apply(&self, change: &mut Change, _attempt: u32) -> Result<(), Error> {
        let order = &self.0;
        change.existing(&order.location)?;
        if change.fields.contains_key(&PurchaseOrder::field(&order.reference)) {
            return Err(Error::PurchaseOrderExists {
                sku: change.sku.clone(),
                reference: order.reference.clone(),
            });
        }
        change.set_fields(vec![(PurchaseOrder::field(&order.reference), order.encode())]);
        change.add("incoming", &order.location, order.quantity);
        let extra = [("location", order.location.as_str()), ("po", order.reference.as_str())];
        change.record(EntryKind::Expect, order.quantity, 0, &extra);
        Ok(())
    }
}

/// `POST /v1/skus/{sku}/incoming/{ref}/receive` (admin): `quantity` units of the order
/// arrived (all it still has on the way when `None`): `incoming` to `available` at its
/// location, as stock received.
pub async fn receive(
    store: &Inventory,
    sku: &Sku,
    reference: &PoRef,
    quantity: Option<Quantity>,
) -> Result<Incoming, Error> {
    let step = Receive {
        reference,
        quantity,
        after: Mutex::default(),
    };
    let stock = stockroom::run(store, EntryKind::Receive, sku, &step).await?;
    let purchase_order = step
        .after
        .into_inner()
        .expect("not poisoned")
        .expect("a committed receipt");
    Ok(Incoming { purchase_order, stock })
}

struct Receive<'a> {
    reference: &'a PoRef,
    quantity: Option<Quantity>,
    /// The order as the last attempt left it.
    after: Mutex<Option<PurchaseOrder>>,
}

impl Step for &Receive<'_> {
    const READS_FIELDS: bool = true;

    fn apply(&self, change: &mut Change, _attempt: u32) -> Result<(), Error> {
        let field = PurchaseOrder::field(self.reference);
        let unknown = || Error::UnknownPurchaseOrder {
            sku: change.sku.clone(),
            reference: self.reference.clone(),
        };
        let text = change.fields.get(&field).ok_or_else(unknown)?;
        let mut order = PurchaseOrder::decode(self.reference.clone(), text).ok_or_else(|| {
            StoreError::Protocol(format!("stock of {}: bad purchase order {field}", change.sku).into())
        })?;
        let requested = self.quantity.map_or(order.remaining(), Quantity::get);
        if requested > order.remaining() || requested == 0 {
            return Err(Error::ReceiptExceedsIncoming {
                sku: change.sku.clone(),
                reference: self.reference.clone(),
                incoming: order.remaining(),
                requested,
            });
        }
        order.received += requested;
        let filled = order.fill(requested);
        change.set_fields(vec![(field, order.encode())]);
        change.add("incoming", &order.location, -requested);
        change.receive(&order.location, requested, true);
        if filled > 0 {
            // The order's preorders, oldest first, take what they wait for: those units are
            // sold (or held) already, so they leave `available` as they arrive. Before the
            // movements, so the alert check sees the net change once.
            change.add("available", &order.location, -filled);
            // `preordered` is no field of its own (the orders' queues are): the answer's
            // level follows the queue by hand.
            change.level.totals.preordered -= filled;
            if let Some(place) = change.level.places.iter_mut().find(|p| p.name == order.location) {
                place.counts.preordered -= filled;
            }
        }
        let extra = [("location", order.location.as_str()), ("po", order.reference.as_str())];
        change.record(EntryKind::Receive, requested, requested - filled, &extra);
        if filled > 0 {
            change.record(EntryKind::Fill, filled, 0, &extra);
        }
        *self.after.lock().expect("not poisoned") = Some(order);
        Ok(())
    }
}

/// `GET /v1/skus/{sku}/incoming`: the SKU's purchase orders.
pub async fn purchase_orders(store: &Inventory, sku: &Sku) -> Result<PurchaseOrders, Error> {
    let fields: HashMap<String, String> = store.query(redis::cmd("HGETALL").arg(store.keys().stock(sku))).await?;
    if fields.is_empty() {
        return Err(Error::unknown_sku(sku));
    }
    Ok(PurchaseOrders {
        sku: sku.clone(),
        purchase_orders: PurchaseOrder::all_of(sku, &fields)?,
    })
}

/// `verify`'s rule for a SKU's purchase orders: `incoming`, in all and at each location,
/// is what its orders still have on the way. One sentence per difference.
pub(crate) fn incoming_differences(level: &Level, orders: &[PurchaseOrder]) -> Vec<String> {
    let mut by_location: HashMap<&str, i64> = HashMap::new();
    for order in orders {
        *by_location.entry(order.location.as_str()).or_default() += order.remaining();
    }
    let mut differences = Vec::new();
    for order in orders.iter().filter(|o| o.preordered > o.remaining()) {
        differences.push(format!(
            "purchase order {} has {} units preordered but only {} on their way",
            order.reference,
            order.preordered,
            order.remaining()
        ));
    }
    let total: i64 = by_location.values().sum();
    if level.totals.incoming != total {
        differences.push(format!(
            "incoming is {} but its purchase orders have {total} units on their way",
            level.totals.incoming
        ));
    }
    if level.has_named() {
        for place in &level.places {
            let expected = by_location.get(place.name.as_str()).copied().unwrap_or(0);
            if place.counts.incoming != expected {
                differences.push(format!(
                    "incoming at {} is {} but its purchase orders have {expected} units on their way there",
                    place.name, place.counts.incoming
                ));
            }
        }
    }
    differences
}
