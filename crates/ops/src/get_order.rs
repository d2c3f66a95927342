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

/// Fills in each preorder line's units still waiting, from its purchase order's queue (one
/// round trip for all of them; an order without preorders reads nothing more). A purchase
/// order gone with its retired SKU has nothing waiting.
async fn with_waiting(store: &Inventory, order: &mut Order) -> Result<(), Error> {
    let preorders: Vec<(usize, crate::domain::PoRef, i64)> = order
        .items
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            line.allocations
                .iter()
                .find_map(|a| Some((i, a.purchase_order.clone()?, a.position?)))
        })
        .collect();
    if preorders.is_empty() {
        return Ok(());
    }
    let reads = preorders.iter().map(|(i, reference, _)| {
        redis::cmd("HGET")
            .arg(store.keys().stock(&order.items[*i].sku))
            .arg(PurchaseOrder::field(reference))
            .to_owned()
    });
    let texts: Vec<Option<String>> = store.read_all(reads.collect()).await?;
    for ((i, reference, position), text) in preorders.into_iter().zip(texts) {
        let waiting = text
            .and_then(|t| PurchaseOrder::decode(reference, &t))
            .map_or(0, |o| o.waiting(position));
        order.items[i].waiting = Some(waiting);
    }
    Ok(())
}

/// Reads one order as stored (with its bookkeeping, such as a return's pending slots).
pub(crate) async fn stored_order(store: &Inventory, id: &OrderId) -> Result<Order, Error> {
    let raw: Option<String> = store.query(redis::cmd("GET").arg(store.keys().order(id))).await?;
    let raw = raw.ok_or(Error::UnknownOrder)?;
    serde_json::from_str(&raw).map_err(|e| Error::Store(StoreError::Protocol(format!("order {id}: {e}").into())))
}
