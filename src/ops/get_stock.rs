use super::{Stock, stock_from_fields};
use crate::domain::Sku;
use crate::error::Error;
use crate::store::Store;

/// Reads one SKU's stock. A plain read: it needs no transaction because it writes nothing.
pub async fn get_stock(store: &Store, sku: &Sku) -> Result<Stock, Error> {
    let fields: [Option<i64>; 3] = store
        .query(
            redis::cmd("HMGET")
                .arg(store.keys().stock(sku))
                .arg(&["available", "reserved", "sold"]),
        )
        .await?;
    stock_from_fields(sku, fields)?.ok_or_else(|| Error::unknown_sku(sku.as_str()))
}
