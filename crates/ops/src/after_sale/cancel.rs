use super::engine::{self, Step};
use super::{OrderReturn, ReturnLine};
use crate::domain::{Disposition, EntryKind, OrderId, OrderStatus, Sku};
use crate::error::Error;
use crate::idempotency::Idempotency;
use crate::level::{Allocation, Level};
use crate::purchase_order::PurchaseOrder;
use crate::{Inventory, Order};
use std::collections::HashMap;

/// `POST /v1/orders/{id}/cancel`: every unit of the order goes back to the location it was
/// sold from, as `available` or (`disposition: damaged`) as `damaged`, in one transaction
/// that watches the order. Only an order with nothing returned can be cancelled:
/// `409 order_not_cancellable` otherwise. Answers the order, now `cancelled`.
pub async fn cancel_order(
    store: &Inventory,
    id: &OrderId,
    disposition: Disposition,
    idem: Option<&Idempotency>,
) -> Result<Order, Error> {
    engine::run(store, id, idem, Cancel { disposition }).await
}

struct Cancel {
    disposition: Disposition,
}

impl Step for Cancel {
    type Output = Order;
    const KIND: EntryKind = EntryKind::CancelOrder;

    fn plan(&self, order: &Order, levels: &HashMap<Sku, Level>) -> Result<Vec<ReturnLine>, Error> {
        let status = order.derived_status();
        if status != OrderStatus::Placed {
            return Err(Error::OrderNotCancellable { status });
        }
        order
            .items
            .iter()
            .map(|line| {
                let level = levels.get(&line.sku).ok_or_else(|| Error::unknown_sku(&line.sku))?;
                Ok(ReturnLine {
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    disposition: self.disposition,
                    location: None,
                    from: line.drawn().into_iter().flat_map(|a| undone(a, level)).collect(),
                })
            })
            .collect()
    }

    fn output(order: Order, _: OrderReturn) -> Order {
        order
    }
}

/// What cancelling an allocation undoes: a shelf's units go back to it; a preorder's units
/// already filled by a receipt are on the shelf like any other, and those still waiting go
/// back to their purchase order's room (kept as a preorder allocation).
fn undone(a: Allocation, level: &Level) -> Vec<Allocation> {
    let (shelf, waiting) = PurchaseOrder::split(a, &level.orders);
    shelf.into_iter().chain(waiting).collect()
}
