//! The catalog: every SKU's name in one sorted set, so that an admin can page through a
//! shop's SKUs in name order, or find them by prefix, at O(log N + page) a page.
//!
//! A name is added before the SKU's first write and is never the only trace of a SKU the
//! store lost: a listing reads each named SKU's stock and leaves out names whose stock is
//! gone (a creation that failed after the add). So the index needs no transaction with the
//! SKU's own keys, which on a cluster live in another slot. Walking pages by name (`after`
//! is the last name seen) never returns a SKU twice and never skips one that existed for
//! the whole walk, whatever is created meanwhile.

use crate::Inventory;
use crate::Stock;
use crate::domain::{Limit, Sku, SkuPrefix};
use crate::error::Error;
use crate::level::Level;
use std::collections::HashMap;
use stockwatch_store::KeyScan;

/// One page of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Page {
    /// The page's SKUs, in name order.
    pub skus: Vec<Stock>,
    /// Pass as `after` for the next page; `null` on the last.
    #[schema(value_type = Option<String>)]
    pub next: Option<Sku>,
}

/// Records `sku` in the catalog; called before its first write.
pub(crate) async fn add(store: &Inventory, sku: &Sku) -> Result<(), Error> {
    let _: i64 = store
        .query(redis::cmd("ZADD").arg(store.keys().catalog()).arg(0).arg(sku.as_str()))
        .await?;
    Ok(())
}

/// `GET /v1/skus`: up to `limit` SKUs named after `after` (and starting with `prefix`), in
/// name order, with their stock.
pub async fn list(
    store: &Inventory,
    after: Option<&Sku>,
    prefix: Option<&SkuPrefix>,
    limit: Limit,
) -> Result<Page, Error> {
    // Names sort as bytes; every SKU character is below 0x7f, so "prefix\x7f" bounds them.
    let from = match (after, prefix) {
        (Some(a), Some(p)) if a.as_str() < p.as_str() => format!("[{}", p.as_str()),
        (Some(a), _) => format!("({a}"),
        (None, Some(p)) => format!("[{}", p.as_str()),
        (None, None) => "-".to_owned(),
    };
    let to = prefix.map_or_else(|| "+".to_owned(), |p| format!("[{}\x7f", p.as_str()));
    let names: Vec<String> = store
        .query(
            redis::cmd("ZRANGE")
                .arg(store.keys().catalog())
                .arg(&from)
                .arg(&to)
                .arg("BYLEX")
                .arg("LIMIT")
                .arg(0)
                .arg(limit.get()),
        )
        .await?;
    let next = (names.len() == limit.get())
        .then(|| names.last().and_then(|n| Sku::parse(n).ok()))
        .flatten();
    // One pipeline for the page (per node on a cluster), read as `get_stock` reads one SKU.
    let skus: Vec<Sku> = names.iter().filter_map(|n| Sku::parse(n).ok()).collect();
    let reads = skus
        .iter()
        .map(|sku| redis::cmd("HGETALL").arg(store.keys().stock(sku)).to_owned());
    let rows: Vec<HashMap<String, String>> = store.read_all(reads.collect()).await?;
    let mut page = Vec::with_capacity(skus.len());
    for (sku, fields) in skus.iter().zip(rows) {
        // `None`: a name whose SKU was never written (its creation failed after the add).
        if let Some(level) = Level::parse(sku, &fields)? {
            page.push(level.to_stock(sku));
        }
    }
    Ok(Page { skus: page, next })
}

/// Adds every SKU already in the store to the catalog, once per store: SKUs made before the
/// catalog existed. Safe to run beside writes (adding a name twice changes nothing).
pub async fn backfill(store: &Inventory) -> Result<u64, Error> {
    let keys = store.keys();
    let done: bool = store.query(redis::cmd("EXISTS").arg(keys.catalog_complete())).await?;
    if done {
        return Ok(0);
    }
    let (mut scan, mut added) = (KeyScan::new(store, &keys.stock_pattern(), 1000), 0);
    while let Some(batch) = scan.next().await? {
        let names: Vec<String> = batch
            .iter()
            .filter_map(|k| keys.sku_of_stock_key(k))
            .map(String::from)
            .collect();
        if names.is_empty() {
            continue;
        }
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(keys.catalog());
        for name in &names {
            zadd.arg(0).arg(name);
        }
        let new: u64 = store.query(&zadd).await?;
        added += new;
    }
    let _: () = store
        .query(redis::cmd("SET").arg(keys.catalog_complete()).arg(1))
        .await?;
    Ok(added)
}
