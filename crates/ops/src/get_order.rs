use super::Order;
use crate::Inventory;
use crate::domain::OrderId;
use crate::error::{Error, StoreError};
use crate::purchase_order::PurchaseOrder;

/// Reads one order, with every line's allocations, its status and what came back.
pub async fn get_order(store: &Inventory, id: &OrderId) -> Result<Order, Error> {
    let mut order = stored_order(store, id).await?.with_allocations();
    with_waiting(store, &mut order).await?;
    Ok(order)
}

/// Fills in each preorder line's units still waiting, from its purchase order's queue (a
/// read per preorder line; other orders read nothing more). A purchase order gone with its
/// retired SKU has nothing waiting.
async fn with_waiting(store: &Inventory, order: &mut Order) -> Result<(), Error> {
    for line in &mut order.items {
        let Some((reference, position)) = line
            .allocations
            .iter()
            .find_map(|a| Some((a.purchase_order.clone()?, a.position?)))
        else {
            continue;
        };
        let text: Option<String> = store
            .query(
                redis::cmd("HGET")
                    .arg(store.keys().stock(&line.sku))
                    .arg(PurchaseOrder::field(&reference)),
            )
            .await?;
        let waiting = text
            .and_then(|t| PurchaseOrder::decode(reference, &t))
            .map_or(0, |o| o.waiting(position));
        line.waiting = Some(waiting);
    }
    Ok(())
}

/// Reads one order as stored (with its bookkeeping, such as a return's pending slots).
pub(crate) async fn stored_order(store: &Inventory, id: &OrderId) -> Result<Order, Error> {
    let raw: Option<String> = store.query(redis::cmd("GET").arg(store.keys().order(id))).await?;
    let raw = raw.ok_or(Error::UnknownOrder)?;
    serde_json::from_str(&raw).map_err(|e| Error::Store(StoreError::Protocol(format!("order {id}: {e}").into())))
}
