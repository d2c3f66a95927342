//! Publishes this process's committed changes, with the stock read after them.

use super::listeners::Listeners;
use super::{Change, FeedKind, FeedTarget, StockEvent};
use crate::conn::Shared;
use crate::domain::Sku;
use crate::keys;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Most changes read and published in one round.
const READ_BATCH: usize = 256;

/// Takes changes in the order they were reported, reads each SKU once per batch (a hot SKU
/// can have hundreds of changes in one), and publishes the events per channel, telling
/// `listeners` whether anyone received them. Ends when the store (holding the sender) is
/// dropped.
pub(super) async fn run(mut queue: mpsc::UnboundedReceiver<Change>, wiring: FeedTarget, listeners: Arc<Listeners>) {
    let mut changes = Vec::with_capacity(READ_BATCH);
    while queue.recv_many(&mut changes, READ_BATCH).await > 0 {
        let events = match tokio::time::timeout(wiring.timeout, read(&wiring, &changes)).await {
            Ok(Ok(events)) => events,
            // Redis is down: these changes' events are lost, the next ones carry the state.
            Ok(Err(e)) => {
                tracing::warn!(error = %e, dropped = changes.len(), "events: stock read failed");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(dropped = changes.len(), "events: stock read timed out");
                Vec::new()
            }
        };
        changes.clear();
        if events.is_empty() {
            continue;
        }
        let sent = tokio::time::Instant::now();
        match tokio::time::timeout(wiring.timeout, publish(&wiring, events)).await {
            Ok(Ok(receivers)) => listeners.heard(sent, receivers),
            _ => tracing::warn!("events: publish failed; subscribers resync when they reconnect"),
        }
    }
}

/// The events of `changes`, with each SKU's stock as read now.
async fn read(wiring: &FeedTarget, changes: &[Change]) -> Result<Vec<(u16, StockEvent)>, crate::error::StoreError> {
    let skus: Vec<&Sku> = {
        let mut seen = std::collections::HashSet::new();
        changes
            .iter()
            .flat_map(|c| &c.skus)
            .filter(|s| seen.insert(*s))
            .collect()
    };
    let levels = read_levels(&wiring.conn, &wiring.keys, &skus).await?;
    let level: HashMap<&Sku, [Option<i64>; 3]> = skus.into_iter().zip(levels).collect();
    let mut events = Vec::new();
    for change in changes {
        for sku in &change.skus {
            let Some([Some(available), reserved, sold]) = level.get(sku).copied() else {
                continue;
            };
            events.push((
                wiring.keys.slot_of_sku(sku),
                StockEvent {
                    sku: (*sku).clone(),
                    available,
                    reserved: reserved.unwrap_or(0),
                    sold: sold.unwrap_or(0),
                    kind: FeedKind::Moved(change.kind),
                    strategy: change.strategy.to_owned(),
                    attempts: change.effort.attempts,
                    conflicts: change.effort.conflicts,
                    committed_at: change.committed_at,
                },
            ));
        }
    }
    Ok(events)
}

/// `available, reserved, sold` of each SKU, in order.
pub(super) async fn read_levels(
    conn: &Shared,
    keys: &keys::Keys,
    skus: &[&Sku],
) -> Result<Vec<[Option<i64>; 3]>, crate::error::StoreError> {
    let reads = skus
        .iter()
        .map(|sku| {
            redis::cmd("HMGET")
                .arg(keys.stock(sku))
                .arg(&["available", "reserved", "sold"])
                .to_owned()
        })
        .collect();
    conn.read_all(reads).await
}

/// One message per channel: a JSON array of events, in order. On one server every event
/// goes to one channel; on a cluster, to its SKU's shard channel. Returns how many
/// subscriptions received them (every inbox subscribes to every channel).
async fn publish(wiring: &FeedTarget, events: Vec<(u16, StockEvent)>) -> Result<i64, crate::error::StoreError> {
    let cluster = matches!(wiring.conn, Shared::Cluster(_));
    let mut by_channel: BTreeMap<String, Vec<StockEvent>> = BTreeMap::new();
    for (slot, event) in events {
        let channel = if cluster {
            wiring.keys.events_shard(slot)
        } else {
            wiring.keys.events()
        };
        by_channel.entry(channel).or_default().push(event);
    }
    let command = if cluster { "SPUBLISH" } else { "PUBLISH" };
    let sends = by_channel.into_iter().map(|(channel, events)| {
        let mut conn = wiring.conn.clone();
        let body = serde_json::to_string(&events).expect("events serialize");
        async move {
            redis::cmd(command)
                .arg(channel)
                .arg(body)
                .query_async::<i64>(&mut conn)
                .await
        }
    });
    Ok(futures_util::future::try_join_all(sends).await?.into_iter().sum())
}
