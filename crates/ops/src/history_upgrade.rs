//! The one-time conversion of movement streams (the layout of earlier versions, one stream per SKU,
//! about 4.7 KB each at rest) into history lists ([`crate::movements`]). `serve` runs
//! it before its first request, once per store, as it backfills the catalog.

use crate::Inventory;
use crate::error::Error;
use crate::store::KeyScan;

/// Converts every SKU's old movement stream, then marks the store done. Safe beside writers
/// of either version: each SKU converts in one script.
pub async fn upgrade(store: &Inventory) -> Result<u64, Error> {
    let keys = store.keys();
    let done: bool = store.query(redis::cmd("EXISTS").arg(keys.history_upgraded())).await?;
    if done {
        return Ok(0);
    }
    let script = redis::Script::new(include_str!("lua/history_upgrade.lua"));
    let cap = store.config().movements_maxlen.max(1);
    let (mut scan, mut converted) = (KeyScan::new(store, &keys.old_movements_pattern(), 1000), 0);
    while let Some(batch) = scan.next().await? {
        for old in batch {
            let Some(sku) = keys.sku_of_old_movements_key(&old) else {
                continue;
            };
            let mut call = script.key(keys.stock(&sku));
            call.key(&old).key(keys.movements(&sku)).arg(cap);
            let mut conn = store.shared();
            let n: u64 = crate::store::Store::bounded(store.deadline(), call.invoke_async(&mut conn)).await?;
            converted += n;
        }
    }
    let _: () = store
        .query(redis::cmd("SET").arg(keys.history_upgraded()).arg(1))
        .await?;
    Ok(converted)
}
