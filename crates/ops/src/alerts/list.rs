//! Reading alerts back: the recent ones (`GET /v1/alerts`), and the pages the feed and the
//! webhook sender follow.

use crate::Inventory;
use crate::domain::{AlertKind, Limit, Sku};
use crate::error::{Error, StoreError};
use redis::streams::{StreamId, StreamRangeReply};
use serde::Serialize;
use std::collections::BTreeSet;

/// One alert, as the API, the event feed and webhook deliveries show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Alert {
    /// Stable and unique: a receiver dedupes on it. `<slot>-<stream entry id>`.
    pub id: String,
    /// `low_stock`, `out_of_stock`, `back_in_stock`, `reorder` or `contention`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: AlertKind,
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// `available` right after the change that raised it (for `contention`: when raised).
    pub available: i64,
    /// The rule's level: the low-stock threshold, the reorder point, or for `contention`
    /// the conflict rate in percent that was passed.
    pub threshold: i64,
    /// When, epoch ms.
    pub at: i64,
    /// `reorder`: the suggested quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
}

impl Alert {
    /// When its change committed, from the stream entry id in its `id`: `(ms, seq)`.
    fn committed(&self) -> (u64, u64) {
        let mut parts = self.id.splitn(3, '-').skip(1).map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// Decodes one stream entry of `slot`'s alert stream.
    pub fn from_entry(slot: u16, entry: &StreamId) -> Result<Self, StoreError> {
        let text = |name: &str| -> Result<String, StoreError> {
            entry
                .get::<String>(name)
                .ok_or_else(|| StoreError::Protocol(format!("alert {} has no {name}", entry.id).into()))
        };
        let num = |name: &str| -> Result<i64, StoreError> {
            text(name)?
                .parse()
                .map_err(|_| StoreError::Protocol(format!("alert {}: {name} is not a number", entry.id).into()))
        };
        Ok(Self {
            id: format!("{slot}-{}", entry.id),
            kind: AlertKind::parse(&text("type")?)
                .ok_or_else(|| StoreError::Protocol(format!("alert {}: unknown type", entry.id).into()))?,
            sku: Sku::try_from(text("sku")?)
                .map_err(|_| StoreError::Protocol(format!("alert {}: bad sku", entry.id).into()))?,
            available: num("available")?,
            threshold: num("threshold")?,
            at: num("at")?,
            quantity: entry.get::<i64>("quantity"),
        })
    }
}

/// The `200` body of `GET /v1/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    /// Newest first.
    pub alerts: Vec<Alert>,
}

/// The alert streams to read: those of the slots of every SKU with rules (or of one SKU).
/// Every SKU with alerts lists its slot in the low-stock index's slot set before its rules
/// or its alert are written (`list_alerting`), so once `ops::upgrade` has listed the SKUs of
/// earlier versions that small set is the answer; before, the slots come from every SKU with
/// alerts (a million names with a big catalog, where the webhook sender and the alert feed
/// ask each round).
pub async fn alert_slots(store: &crate::store::Store, sku: Option<&Sku>) -> Result<Vec<u16>, StoreError> {
    let keys = store.keys();
    if let Some(sku) = sku {
        return Ok(vec![store.feed_slot(keys.slot_of_sku(sku))]);
    }
    let complete: Option<String> = store.query(redis::cmd("GET").arg(keys.low_stock_complete())).await?;
    if complete.as_deref() == Some(super::low::COMPLETE) {
        let slots: BTreeSet<u16> = store.query(redis::cmd("SMEMBERS").arg(keys.low_stock_slots())).await?;
        return Ok(slots.into_iter().collect());
    }
    let skus: Vec<String> = store.query(redis::cmd("SMEMBERS").arg(keys.alert_skus())).await?;
    let slots: BTreeSet<u16> = skus
        .iter()
        .filter_map(|s| Sku::parse(s).ok())
        .map(|s| store.feed_slot(keys.slot_of_sku(&s)))
        .collect();
    Ok(slots.into_iter().collect())
}

/// The newest `limit` alerts, of one SKU or of all; streams are capped like movements.
pub async fn list_alerts(store: &Inventory, sku: Option<&Sku>, limit: Limit) -> Result<AlertList, Error> {
    let limit = limit.get();
    let mut alerts = Vec::new();
    for slot in alert_slots(store, sku).await? {
        // Newest first, page by page, until this stream has given `limit` of the SKU's.
        let key = store.keys().alerts(slot);
        let mut end = "+".to_owned();
        let mut found = 0;
        loop {
            let page: StreamRangeReply = store
                .query(
                    redis::cmd("XREVRANGE")
                        .arg(&key)
                        .arg(&end)
                        .arg("-")
                        .arg("COUNT")
                        .arg(500),
                )
                .await?;
            for entry in &page.ids {
                let alert = Alert::from_entry(slot, entry)?;
                if sku.is_none_or(|s| *s == alert.sku) && found < limit {
                    alerts.push(alert);
                    found += 1;
                }
            }
            match page.ids.last() {
                Some(last) if page.ids.len() == 500 && found < limit => end = format!("({}", last.id),
                _ => break,
            }
        }
    }
    // In commit order (the stream entry ids), not by `at`: a buyer that started first may
    // commit last.
    alerts.sort_by_key(|a| std::cmp::Reverse(a.committed()));
    alerts.truncate(limit);
    Ok(AlertList { alerts })
}

/// Up to `count` alerts of `slot` after entry id `after` (`0` for the start), oldest first:
/// what the event feed and the webhook sender follow.
pub async fn read_since(
    store: &Inventory,
    slot: u16,
    after: &str,
    count: usize,
) -> Result<Vec<(String, Alert)>, StoreError> {
    let page: StreamRangeReply = store
        .query(
            redis::cmd("XRANGE")
                .arg(store.keys().alerts(slot))
                .arg(format!("({after}"))
                .arg("+")
                .arg("COUNT")
                .arg(count),
        )
        .await?;
    page.ids
        .iter()
        .map(|e| Ok((e.id.clone(), Alert::from_entry(slot, e)?)))
        .collect()
}
