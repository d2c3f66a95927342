//! What is low now (`GET /v1/alerts/low-stock`), in total or at one location, from each feed
//! slot's low-stock index (`crate::keys::Keys::low_stock`, and `low_stock_at` per location),
//! which `lua/low_index.lua` keeps in every change that moves a SKU's level or its threshold:
//! a call reads at most `limit` entries per listed slot (one slot on one server), not the
//! SKUs with rules.

use super::crossing::reindex_cmd;
use crate::Inventory;
use crate::convert;
use crate::domain::{Limit, Location, Sku};
use crate::error::{Error, StoreError};
use crate::level::{Level, Place};
use serde::Serialize;
use std::collections::BTreeSet;

/// One SKU (or one of its locations) below its low-stock threshold now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LowStock {
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// The location, when the list was asked for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Location>,
    /// `available` there now.
    pub available: i64,
    /// The SKU's threshold.
    pub threshold: i64,
}

/// The `200` body of `GET /v1/alerts/low-stock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LowStockList {
    /// Lowest first.
    pub skus: Vec<LowStock>,
}

/// The index's rule, for the code that holds a level (`lua/low_index.lua` holds the same for
/// scripts).
impl Level {
    /// Its entry in the low-stock index, in total or at `place`: scored by what can be sold
    /// there while that is below its `low_threshold`, else none.
    pub fn low_stock_score(&self, place: Option<&Place>) -> Option<i64> {
        let available = place.map_or(&self.totals, |p| &p.counts).sellable();
        self.rules
            .low_stock_threshold
            .filter(|t| available < *t)
            .map(|_| available)
    }

    /// Whether a change must set its low-stock entries location by location: a threshold
    /// and named locations (without, the alert check keeps `default` with the total).
    pub fn indexes_places(&self) -> bool {
        self.rules.low_stock_threshold.is_some() && self.has_named()
    }
}

/// SKUs below their threshold now, lowest first, at most `limit` (all without): in total, or
/// at `location`.
pub async fn low_stock(
    store: &Inventory,
    location: Option<&Location>,
    limit: Option<Limit>,
) -> Result<LowStockList, Error> {
    let keys = store.keys();
    let mut low: Vec<(i64, Sku)> = index(store, location, limit)
        .await?
        .into_iter()
        .filter_map(|(sku, available)| Sku::parse(&sku).ok().map(|sku| (available, sku)))
        .collect();
    low.sort();
    low.truncate(limit.map_or(usize::MAX, Limit::get));
    let reads = low
        .iter()
        .map(|(_, sku)| redis::cmd("HGET").arg(keys.stock(sku)).arg("low_threshold").to_owned());
    let thresholds: Vec<Option<i64>> = store.read_all(reads.collect()).await?;
    let skus = low
        .into_iter()
        .zip(thresholds)
        // `None`: the threshold went between the two reads.
        .filter_map(|((available, sku), threshold)| {
            threshold.map(|threshold| LowStock {
                sku,
                location: location.cloned(),
                available,
                threshold,
            })
        })
        .collect();
    Ok(LowStockList { skus })
}

/// The index's entries (SKU, `available`), in total or at `location`: the lowest `limit` of
/// each listed slot, or all.
pub(crate) async fn index(
    store: &Inventory,
    location: Option<&Location>,
    limit: Option<Limit>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let keys = store.keys();
    let slots: Vec<u16> = store.query(redis::cmd("SMEMBERS").arg(keys.low_stock_slots())).await?;
    let stop = limit.map_or(-1, |l| convert::i64_of(l.get()) - 1);
    let reads = slots.iter().map(|&slot| {
        let key = match location {
            Some(location) => keys.low_stock_at(slot, location.as_str()),
            None => keys.low_stock(slot),
        };
        redis::cmd("ZRANGE")
            .arg(key)
            .arg(0)
            .arg(stop)
            .arg("WITHSCORES")
            .to_owned()
    });
    let pages: Vec<Vec<(String, f64)>> = store.read_all(reads.collect()).await?;
    Ok(pages
        .into_iter()
        .flatten()
        .map(|(sku, available)| (sku, convert::i64_from_f64(available)))
        .collect())
}

/// Lists `skus` (about to get rules, or to raise a contention alert) where the alert
/// readers and the low-stock list look: the set of SKUs with alerts, and their feed slots.
/// Before the rules or the alert are written, so no alert or index entry is ever in a slot
/// nobody reads.
pub(crate) async fn list_alerting(store: &Inventory, skus: &[&Sku]) -> Result<(), StoreError> {
    if skus.is_empty() {
        return Ok(());
    }
    let keys = store.keys();
    let slots: BTreeSet<u16> = skus.iter().map(|s| store.feed_slot(keys.slot_of_sku(s))).collect();
    let names: Vec<&str> = skus.iter().map(|s| s.as_str()).collect();
    let slots: Vec<u16> = slots.into_iter().collect();
    // One round trip on one server (the two sets may live on two nodes of a cluster).
    let _: Vec<i64> = store
        .read_all(vec![
            redis::cmd("SADD").arg(keys.alert_skus()).arg(&names).to_owned(),
            redis::cmd("SADD").arg(keys.low_stock_slots()).arg(slots).to_owned(),
        ])
        .await?;
    Ok(())
}

/// The value of [`crate::keys::Keys::low_stock_complete`] once [`backfill`] has run in this
/// version: `1` said every threshold was indexed; `2` also that every SKU with alerts (a
/// contention alert too) has its feed slot listed, which [`super::alert_slots`] relies on;
/// `3` also that each threshold is indexed at every location of its SKU.
pub(crate) const COMPLETE: &str = "3";

/// Indexes every SKU that had rules before the index existed, once per store. Safe beside
/// writes: each entry is set from its hash as it stands, atomically.
pub async fn backfill(store: &Inventory) -> Result<u64, Error> {
    let keys = store.keys();
    let done: Option<String> = store.query(redis::cmd("GET").arg(keys.low_stock_complete())).await?;
    if done.as_deref() == Some(COMPLETE) {
        return Ok(0);
    }
    let names: Vec<String> = store.query(redis::cmd("SMEMBERS").arg(keys.alert_skus())).await?;
    let skus: Vec<Sku> = names.iter().filter_map(|s| Sku::parse(s).ok()).collect();
    for chunk in skus.chunks(500) {
        let chunk: Vec<&Sku> = chunk.iter().collect();
        list_alerting(store, &chunk).await?;
        let _: Vec<i64> = store
            .read_all(chunk.iter().map(|sku| reindex_cmd(store, sku)).collect())
            .await?;
    }
    let _: () = store
        .query(redis::cmd("SET").arg(keys.low_stock_complete()).arg(COMPLETE))
        .await?;
    Ok(u64::try_from(skus.len()).unwrap_or(u64::MAX))
}
