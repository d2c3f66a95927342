use super::engine::{self, Step};
use super::{OrderReturn, ReturnLine};
use crate::domain::{EntryKind, Location, OrderId, ReturnId, ReturnItem, ReturnItems, Sku};
use crate::error::Error;
use crate::idempotency::Idempotency;
use crate::level::{Allocation, Level};
use crate::{Inventory, Order};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The `201` body of `POST /v1/orders/{id}/returns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Returned {
    /// The return's id.
    #[schema(value_type = String)]
    pub return_id: ReturnId,
    /// The order.
    #[schema(value_type = String)]
    pub order_id: OrderId,
    /// What came back, and where it went.
    pub lines: Vec<ReturnLine>,
    /// The order's status after it.
    #[schema(value_type = String)]
    pub status: crate::domain::OrderStatus,
}

/// `POST /v1/orders/{id}/returns`: units of the order come back, each line to the location
/// named or, by default, the one it was sold from; `available` again or `damaged`. Partial
/// and repeated returns are allowed; a line never returns more than it sold across all its
/// returns (`409 return_exceeds_sold`), even when returns race: each watches the order.
pub async fn return_order(
    store: &Inventory,
    id: &OrderId,
    items: &ReturnItems,
    idem: Option<&Idempotency>,
) -> Result<Returned, Error> {
    engine::run(store, id, idem, Return { items }).await
}

struct Return<'a> {
    items: &'a ReturnItems,
}

impl Step for Return<'_> {
    type Output = Returned;
    const KIND: EntryKind = EntryKind::Return;

    fn plan(&self, order: &Order, levels: &HashMap<Sku, Level>) -> Result<Vec<ReturnLine>, Error> {
        self.items
            .lines()
            .iter()
            .map(|item| line(order, item, levels))
            .collect()
    }

    fn output(order: Order, ret: OrderReturn) -> Returned {
        Returned {
            return_id: ret.return_id,
            order_id: order.order_id,
            status: order.status.unwrap_or_else(|| order.derived_status()),
            lines: ret.lines,
        }
    }
}

/// One line of the return, decided against the order and the SKU's stock.
fn line(order: &Order, item: &ReturnItem, levels: &HashMap<Sku, Level>) -> Result<ReturnLine, Error> {
    let requested = item.quantity.get();
    let sold = order.items.iter().find(|l| l.sku == item.sku);
    // A preorder's units still waiting for their purchase order never reached the customer:
    // they cannot come back (cancelling the order gives them back to the purchase order).
    let waiting = sold.map_or(0, |l| {
        let orders = levels.get(&l.sku).map_or(&[][..], |level| &level.orders);
        crate::purchase_order::PurchaseOrder::waiting_in_line(&l.allocations, orders)
    });
    let (sold_units, returned) = sold.map_or((0, 0), |l| (l.quantity - waiting, order.returned(&l.sku)));
    let Some(sold) = sold.filter(|_| requested <= sold_units - returned) else {
        return Err(Error::ReturnExceedsSold {
            sku: item.sku.clone(),
            sold: sold_units,
            returned,
            requested,
        });
    };
    let level = levels.get(&item.sku).ok_or_else(|| Error::unknown_sku(&item.sku))?;
    if let Some(place) = &item.location
        && level.place(place.as_str()).is_none()
    {
        return Err(Error::UnknownLocation {
            sku: item.sku.clone(),
            location: place.clone(),
        });
    }
    Ok(ReturnLine {
        sku: item.sku.clone(),
        quantity: requested,
        disposition: item.disposition,
        location: item.location.clone(),
        from: taken_off(order.still_sold(sold), requested, item.location.as_ref()),
    })
}

/// Which sales `quantity` returned units undo, from what is still sold per location: the
/// location they go back to first (they stay where they are), then the latest drawn.
fn taken_off(mut still: Vec<Allocation>, quantity: i64, to: Option<&Location>) -> Vec<Allocation> {
    still.reverse();
    if let Some(i) = to.and_then(|to| still.iter().position(|a| &a.location == to)) {
        let first = still.remove(i);
        still.insert(0, first);
    }
    let mut left = quantity;
    let mut from = Vec::new();
    for a in still {
        let n = a.quantity.min(left);
        if n > 0 {
            from.push(Allocation::at(a.location, n));
            left -= n;
        }
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_undo_the_destination_first_then_the_latest_drawn() {
        let still = Allocation::list(&[("east", 2), ("west", 3)]);
        assert_eq!(
            taken_off(still.clone(), 4, None),
            Allocation::list(&[("west", 3), ("east", 1)])
        );
        let east = Location::parse("east", "l").unwrap();
        assert_eq!(
            taken_off(still.clone(), 3, Some(&east)),
            Allocation::list(&[("east", 2), ("west", 1)])
        );
        let north = Location::parse("north", "l").unwrap();
        assert_eq!(taken_off(still, 1, Some(&north)), Allocation::list(&[("west", 1)]));
    }
}
