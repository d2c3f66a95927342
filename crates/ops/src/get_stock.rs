use super::Stock;
use super::level::Level;
use crate::Inventory;
use crate::domain::Sku;
use crate::error::Error;
use std::collections::HashMap;

/// Reads one SKU's stock, with its locations. A plain read: it needs no transaction
/// because it writes nothing, and the whole hash is one reply, so it is consistent.
pub async fn get_stock(store: &Inventory, sku: &Sku) -> Result<Stock, Error> {
    let fields: HashMap<String, String> = store.query(redis::cmd("HGETALL").arg(store.keys().stock(sku))).await?;
    let level = Level::parse(sku, &fields)?.ok_or_else(|| Error::unknown_sku(sku))?;
    Ok(level.to_stock(sku))
}
