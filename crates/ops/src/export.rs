//! Catalog export: every SKU as [`CatalogRow`]s, in name order, a page of the catalog at a
//! time, so that importing the rows into an empty store makes the same catalog (levels per
//! location with their priorities, and rules) and exporting it again gives the same rows.
//!
//! A SKU with only its `default` location is one row without `location`. A SKU with named
//! locations is one row per location in draw order, `default` included, each with its
//! priority, and its safety stock when it has one. The rules ride on a SKU's first row. Counters that are not levels (`reserved`,
//! `sold`) are not exported: an import sets levels, as `PUT …/stock` does.

use crate::Inventory;
use crate::domain::{Available, CatalogRow, Limit, Priority, Sku};
use crate::error::{Error, StoreError};
use crate::level::Level;
use std::collections::HashMap;

/// SKUs read per page.
const PAGE: usize = 1000;

/// The rows of the SKUs after `after`, a page of the catalog, and the cursor of the next
/// page (`None` on the last).
pub async fn page(store: &Inventory, after: Option<&Sku>) -> Result<(Vec<CatalogRow>, Option<Sku>), Error> {
    let limit = Limit::try_from(PAGE).map_err(Error::InvalidRequest)?;
    let (skus, next) = crate::catalog::names(store, after, None, limit).await?;
    let reads = skus
        .iter()
        .map(|sku| redis::cmd("HGETALL").arg(store.keys().stock(sku)).to_owned());
    let hashes: Vec<HashMap<String, String>> = store.read_all(reads.collect()).await?;
    let mut rows = Vec::with_capacity(skus.len());
    for (sku, fields) in skus.iter().zip(hashes) {
        // A name whose SKU was never written (its creation failed after the add) has no rows.
        if let Some(level) = Level::parse(sku, &fields)? {
            rows.extend(rows_of(sku, &level)?);
        }
    }
    Ok((rows, next))
}

/// One SKU's rows.
fn rows_of(sku: &Sku, level: &Level) -> Result<Vec<CatalogRow>, Error> {
    let bad = |what: &str| Error::Store(StoreError::Protocol(format!("{sku}: cannot export {what}").into()));
    let named = !(level.places.len() == 1 && level.places[0].name.is_default());
    let mut rows = Vec::with_capacity(level.places.len());
    for place in &level.places {
        let available = u32::try_from(place.counts.available)
            .ok()
            .and_then(|n| Available::try_from(n).ok())
            .ok_or_else(|| bad(&format!("a level of {} at {}", place.counts.available, place.name)))?;
        let priority = match named {
            false => None,
            true => Some(
                u32::try_from(place.priority)
                    .ok()
                    .and_then(|p| Priority::try_from(p).ok())
                    .ok_or_else(|| bad(&format!("priority {} at {}", place.priority, place.name)))?,
            ),
        };
        rows.push(CatalogRow {
            sku: sku.clone(),
            available,
            location: named.then(|| place.name.clone()),
            priority,
            low_stock_threshold: None,
            reorder_point: None,
            reorder_quantity: None,
            safety_stock: match place.counts.safety {
                0 => None,
                n => Some(
                    u32::try_from(n)
                        .ok()
                        .and_then(|n| Available::try_from(n).ok())
                        .ok_or_else(|| bad(&format!("a safety stock of {n} at {}", place.name)))?,
                ),
            },
        });
    }
    let rule = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok());
    if let Some(first) = rows.first_mut() {
        first.low_stock_threshold = rule(level.rules.low_stock_threshold);
        first.reorder_point = rule(level.rules.reorder_point);
        first.reorder_quantity = rule(level.rules.reorder_quantity);
    }
    Ok(rows)
}
