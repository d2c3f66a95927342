//! Follows every process's published events and hands them to this process's subscribers.

use super::listeners::{QUIET_FOR, SUBSCRIBE_GRACE};
use super::outbox::read_levels;
use super::{FeedKind, FeedTarget, StockEvent};
use crate::conn::Target;
use crate::domain::Sku;
use redis::{IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

/// How often an idle inbox checks whether its store is gone.
const IDLE_CHECK: Duration = Duration::from_secs(5);
/// How long a burst of resubscriptions (one per channel) is let settle before one resync;
/// longer than an outbox's quiet after a publish nobody heard, so the resync's read covers
/// every change that was skipped while this inbox was away.
const SETTLE: Duration = Duration::from_millis(200);
const _: () = assert!(SETTLE.as_micros() > QUIET_FOR.as_micros());
/// SKUs re-read per round trip in a resync.
const RESYNC_BATCH: usize = 500;

/// The subscription, kept open for as long as the inbox runs.
enum Subscription {
    Single(redis::aio::ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Subscription {
    /// Subscribes to every channel again (harmless when still subscribed), which also makes
    /// the client reconnect; returns how many channels that is.
    async fn again(&mut self, wiring: &FeedTarget) -> Result<usize, redis::RedisError> {
        match self {
            Self::Single(conn) => {
                conn.subscribe(wiring.keys.events()).await?;
                Ok(1)
            }
            Self::Cluster(conn) => ssubscribe_all(conn, wiring).await,
        }
    }
}

/// `SSUBSCRIBE`s every shard channel, one per call: each lives in its own slot (one
/// SSUBSCRIBE cannot span slots).
async fn ssubscribe_all(
    conn: &mut redis::cluster_async::ClusterConnection,
    wiring: &FeedTarget,
) -> Result<usize, redis::RedisError> {
    let channels = wiring.keys.events_shards();
    for channel in &channels {
        conn.ssubscribe(channel).await?;
    }
    Ok(channels.len())
}

/// Subscribes (retrying until Redis answers), then forwards every published event to
/// `feed`. Every (re)subscription confirmation schedules a resync of the SKUs shown so far:
/// the client resubscribes by itself after a reconnect, and what was published meanwhile
/// is lost. Ends when the store (the feed's sender) is gone.
pub(super) async fn run(wiring: FeedTarget, feed: broadcast::WeakSender<StockEvent>, live: watch::Sender<bool>) {
    let (tx, mut pushes) = mpsc::unbounded_channel::<PushInfo>();
    let (mut subscription, mut initial) = loop {
        match subscribe(&wiring, tx.clone()).await {
            Ok(s) => break s,
            Err(e) => {
                tracing::warn!(error = %e, "events: cannot subscribe yet; retrying");
                if feed.upgrade().is_none() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    // Live only once no outbox can still be skipping changes on the strength of a publish
    // that reached nobody before this subscription (pushes queue meanwhile).
    tokio::time::sleep(SUBSCRIBE_GRACE).await;
    live.send_replace(true);
    let mut shown: BTreeSet<Sku> = BTreeSet::new();
    let mut resync_at: Option<Instant> = None;
    let mut gap = false;
    loop {
        let resync = async {
            match resync_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            push = pushes.recv() => {
                let (Some(push), Some(feed)) = (push, feed.upgrade()) else { return };
                match push.kind {
                    PushKind::Message | PushKind::SMessage => deliver(push.data, &feed, &mut shown),
                    // The first subscription's confirmations (one per channel) are not a gap.
                    PushKind::Subscribe | PushKind::SSubscribe if initial > 0 => initial -= 1,
                    PushKind::Subscribe | PushKind::SSubscribe => {
                        resync_at.get_or_insert(Instant::now() + SETTLE);
                    }
                    // A cluster connection repairs itself only when used: subscribe again.
                    PushKind::Disconnection => {
                        gap = true;
                        resync_at.get_or_insert(Instant::now() + SETTLE);
                    }
                    _ => {}
                }
            }
            () = resync => {
                resync_at = None;
                let Some(feed) = feed.upgrade() else { return };
                if gap {
                    // On the same connection if it recovers; else on a new one (after a
                    // failover, the old one may keep asking the dead master).
                    let again = match subscription.again(&wiring).await {
                        Ok(channels) => Ok(channels),
                        Err(_) => subscribe(&wiring, tx.clone()).await.map(|(fresh, channels)| {
                            subscription = fresh;
                            channels
                        }),
                    };
                    match again {
                        // Its own confirmations are not another gap.
                        Ok(channels) => {
                            initial += channels;
                            gap = false;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "events: cannot subscribe again yet; retrying");
                            resync_at = Some(Instant::now() + Duration::from_secs(1));
                            continue;
                        }
                    }
                }
                if let Err(e) = resync_shown(&wiring, &shown, &feed).await {
                    tracing::warn!(error = %e, "events: resync failed; retrying");
                    resync_at = Some(Instant::now() + Duration::from_secs(1));
                }
            }
            () = tokio::time::sleep(IDLE_CHECK) => {
                if feed.upgrade().is_none() {
                    return;
                }
            }
        }
    }
}

/// Opens a RESP3 connection whose pushes go to `tx`, and subscribes to every channel the
/// outboxes publish on; also says how many channels that is. The client resubscribes by
/// itself after a reconnect.
async fn subscribe(
    wiring: &FeedTarget,
    tx: mpsc::UnboundedSender<PushInfo>,
) -> Result<(Subscription, usize), redis::RedisError> {
    let timeout = wiring.timeout;
    match &wiring.target {
        Target::Single(url) => {
            let info = url.as_str().into_connection_info()?;
            let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
            let client = redis::Client::open(info.set_redis_settings(settings))?;
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_push_sender(tx)
                .set_automatic_resubscription();
            let mut conn = redis::aio::ConnectionManager::new_with_config(client, config).await?;
            conn.subscribe(wiring.keys.events()).await?;
            Ok((Subscription::Single(conn), 1))
        }
        Target::Cluster(seeds) => {
            let client = crate::conn::cluster_client(seeds)
                .use_protocol(ProtocolVersion::RESP3)
                .push_sender(tx)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .build()?;
            let mut conn = client.get_async_connection().await?;
            let channels = ssubscribe_all(&mut conn, wiring).await?;
            Ok((Subscription::Cluster(conn), channels))
        }
    }
}

/// Broadcasts one published message: `[channel, JSON array of events]`.
fn deliver(data: Vec<Value>, feed: &broadcast::Sender<StockEvent>, shown: &mut BTreeSet<Sku>) {
    let Some(Value::BulkString(body)) = data.into_iter().nth(1) else {
        return;
    };
    let events: Vec<StockEvent> = match serde_json::from_slice(&body) {
        Ok(events) => events,
        Err(e) => {
            tracing::warn!(error = %e, "events: a published message does not decode; skipped");
            return;
        }
    };
    for event in events {
        shown.insert(event.sku.clone());
        let _ = feed.send(event);
    }
}

/// Re-reads every SKU shown so far and broadcasts its state as a `resync` event.
async fn resync_shown(
    wiring: &FeedTarget,
    shown: &BTreeSet<Sku>,
    feed: &broadcast::Sender<StockEvent>,
) -> Result<(), crate::error::StoreError> {
    let skus: Vec<&Sku> = shown.iter().collect();
    for chunk in skus.chunks(RESYNC_BATCH) {
        let levels = read_levels(&wiring.conn, &wiring.keys, chunk).await?;
        for (sku, level) in chunk.iter().zip(levels) {
            let [Some(available), reserved, sold] = level else {
                continue;
            };
            let _ = feed.send(StockEvent {
                sku: (*sku).clone(),
                available,
                reserved: reserved.unwrap_or(0),
                sold: sold.unwrap_or(0),
                kind: FeedKind::Resync,
                strategy: String::new(),
                attempts: 0,
                conflicts: 0,
                committed_at: super::now_ms(),
            });
        }
    }
    Ok(())
}
