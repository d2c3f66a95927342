use super::Order;
use crate::Inventory;
use crate::domain::OrderId;
use crate::error::{Error, StoreError};

/// Reads one order, with every line's allocations, its status and what came back.
pub async fn get_order(store: &Inventory, id: &OrderId) -> Result<Order, Error> {
    Ok(stored_order(store, id).await?.with_allocations())
}

/// Reads one order as stored (with its bookkeeping, such as a return's pending slots).
pub(crate) async fn stored_order(store: &Inventory, id: &OrderId) -> Result<Order, Error> {
    let raw: Option<String> = store.query(redis::cmd("GET").arg(store.keys().order(id))).await?;
    let raw = raw.ok_or(Error::UnknownOrder)?;
    serde_json::from_str(&raw).map_err(|e| Error::Store(StoreError::Protocol(format!("order {id}: {e}").into())))
}
