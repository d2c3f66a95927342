//! The catalog: every SKU's name, so that an admin can page through a shop's SKUs in name
//! order, or find them by prefix, at O(log N + page) a page. The names are kept in pages of
//! at most 64 (`lua/catalog.lua`): a small sorted set stays a listpack, about 16 bytes a
//! name, where one sorted set of a million names would cost about 110 bytes each.
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
use stockwatch_store::{KeyScan, Store};

/// One page of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Page {
    /// The page's SKUs, in name order.
    pub skus: Vec<Stock>,
    /// Pass as `after` for the next page; `null` on the last.
    #[schema(value_type = Option<String>)]
    pub next: Option<Sku>,
}

/// The catalog script: `add`, `remove` or `list` (see its header).
static SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("lua/catalog.lua")));

/// Runs `op` of the catalog script with `args`.
async fn call<T: redis::FromRedisValue>(store: &Inventory, op: &str, args: &[&str]) -> Result<T, Error> {
    let keys = store.keys();
    let mut call = SCRIPT.key(keys.catalog());
    call.arg(op).arg(keys.catalog_page_prefix()).arg(args);
    let mut conn = store.shared();
    Ok(Store::bounded(store.deadline(), call.invoke_async(&mut conn)).await?)
}

/// Records `sku` in the catalog; called before its first write.
pub async fn add(store: &Inventory, sku: &Sku) -> Result<(), Error> {
    add_all(store, &[sku]).await
}

/// Records `skus` in the catalog in one call (an import's chunk).
pub async fn add_all(store: &Inventory, skus: &[&Sku]) -> Result<(), Error> {
    add_names(store, skus.iter().map(|s| s.as_str()).collect())
        .await
        .map(drop)
}

/// Adds `names` in one call; how many were new. The script takes them sorted as bytes and
/// each once, so that a page takes its share in one ZADD.
async fn add_names(store: &Inventory, mut names: Vec<&str>) -> Result<u64, Error> {
    names.sort_unstable();
    names.dedup();
    call(store, "add", &names).await
}

/// Takes `sku` out of the catalog; called after its last write.
pub async fn remove(store: &Inventory, sku: &Sku) -> Result<(), Error> {
    call::<i64>(store, "remove", &[sku.as_str()]).await.map(drop)
}

/// Up to `limit` names after `after` (and starting with `prefix`), in name order, and the
/// cursor of the next page (`None` on the last). One script call: a consistent cut.
pub async fn names(
    store: &Inventory,
    after: Option<&Sku>,
    prefix: Option<&SkuPrefix>,
    limit: Limit,
) -> Result<(Vec<Sku>, Option<Sku>), Error> {
    // Names sort as bytes; every SKU character is below 0x7f, so "prefix\x7f" bounds them.
    let from = match (after, prefix) {
        (Some(a), Some(p)) if a.as_str() < p.as_str() => format!("[{}", p.as_str()),
        (Some(a), _) => format!("({a}"),
        (None, Some(p)) => format!("[{}", p.as_str()),
        (None, None) => "-".to_owned(),
    };
    let to = prefix.map_or_else(|| "+".to_owned(), |p| format!("[{}\x7f", p.as_str()));
    let limit_arg = limit.get().to_string();
    let names: Vec<String> = call(store, "list", &[&from, &to, &limit_arg]).await?;
    let skus: Vec<Sku> = names.iter().filter_map(|n| Sku::parse(n).ok()).collect();
    let next = (names.len() == limit.get()).then(|| skus.last().cloned()).flatten();
    Ok((skus, next))
}

/// `GET /v1/skus`: up to `limit` SKUs named after `after` (and starting with `prefix`), in
/// name order, with their stock.
pub async fn list(
    store: &Inventory,
    after: Option<&Sku>,
    prefix: Option<&SkuPrefix>,
    limit: Limit,
) -> Result<Page, Error> {
    let (skus, next) = names(store, after, prefix, limit).await?;
    // One pipeline for the page (per node on a cluster), read as `get_stock` reads one SKU.
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
        added += add_names(store, names.iter().map(String::as_str).collect()).await?;
    }
    // The one-set catalog of earlier versions, now rebuilt as pages.
    let _: () = store.query(redis::cmd("UNLINK").arg(keys.old_catalog())).await?;
    let _: () = store
        .query(redis::cmd("SET").arg(keys.catalog_complete()).arg(1))
        .await?;
    Ok(added)
}
