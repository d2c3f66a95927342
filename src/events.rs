//! The stock-change feed behind `GET /v1/events` (and the dashboard).
//!
//! Operations report a change only after their transaction committed, so an aborted attempt
//! never shows up. One publisher task per store takes the changes in the order they were
//! reported, reads the new stock of their SKUs (once per SKU per batch), and broadcasts one
//! event per change: the last event for a SKU always shows a state at least as new as its
//! last commit. Nothing is read
//! or queued while nobody listens.
//!
//! The feed covers this process's changes; an `expiry-worker` running as its own process
//! releases holds without events here.

use crate::conn::Shared;
use crate::domain::Sku;
use crate::keys::Keys;
use crate::outcome::Effort;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Events kept for a slow subscriber before it skips ahead (each event carries the whole
/// stock object, so skipping loses no state, only intermediate steps).
const BACKLOG: usize = 4096;
/// Most changes read in one pipelined round trip.
const READ_BATCH: usize = 256;

/// One `event: stock` of `GET /v1/events`: the stock object after the change, plus what
/// made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StockEvent {
    /// The SKU.
    pub sku: String,
    /// `available` as read after the change (negative after `broken` oversold).
    pub available: i64,
    /// `reserved` after the change.
    pub reserved: i64,
    /// `sold` after the change.
    pub sold: i64,
    /// Movement kind: `set`, `restock`, `purchase`, `checkout`, `reserve`, `confirm`,
    /// `cancel` or `expire`.
    pub kind: &'static str,
    /// `watch`, `lua` or `broken`.
    pub strategy: &'static str,
    /// Attempts the committing call made.
    pub attempts: u32,
    /// Of which aborted by a conflicting write.
    pub conflicts: u32,
}

/// A committed change, as reported by an operation.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub skus: Vec<Sku>,
    pub kind: &'static str,
    pub strategy: &'static str,
    pub effort: Effort,
}

/// The feed: a broadcast to subscribers, fed by a publisher task started on first use.
#[derive(Debug)]
pub struct Events {
    feed: broadcast::Sender<StockEvent>,
    queue: OnceLock<mpsc::UnboundedSender<Change>>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            feed: broadcast::channel(BACKLOG).0,
            queue: OnceLock::new(),
        }
    }
}

impl Events {
    /// A new subscription. The first one starts the publisher (on the current runtime); it
    /// ends when the store is dropped.
    pub(crate) fn subscribe(&self, keys: &Keys, conn: Shared, timeout: Duration) -> broadcast::Receiver<StockEvent> {
        let receiver = self.feed.subscribe();
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(publish(rx, self.feed.clone(), keys.clone(), conn, timeout));
            tx
        });
        receiver
    }

    /// Queues a committed change, unless nobody listens.
    pub(crate) fn changed(&self, change: Change) {
        if self.feed.receiver_count() == 0 || change.skus.is_empty() {
            return;
        }
        if let Some(queue) = self.queue.get() {
            let _ = queue.send(change);
        }
    }
}

async fn publish(
    mut queue: mpsc::UnboundedReceiver<Change>,
    feed: broadcast::Sender<StockEvent>,
    keys: Keys,
    conn: Shared,
    timeout: Duration,
) {
    let mut changes = Vec::with_capacity(READ_BATCH);
    while queue.recv_many(&mut changes, READ_BATCH).await > 0 {
        // Each SKU is read once per batch, however many of its changes the batch holds
        // (a hot SKU can have hundreds): its events all show the state read after them.
        let mut slot: HashMap<Sku, usize> = HashMap::new();
        let mut reads = Vec::new();
        for sku in changes.iter().flat_map(|c| &c.skus) {
            if !slot.contains_key(sku) {
                slot.insert(sku.clone(), slot.len());
                reads.push(
                    redis::cmd("HMGET")
                        .arg(keys.stock(sku))
                        .arg(&["available", "reserved", "sold"])
                        .to_owned(),
                );
            }
        }
        let read = tokio::time::timeout(timeout, conn.read_all::<[Option<i64>; 3]>(reads)).await;
        match read {
            Ok(Ok(levels)) => {
                for change in changes.drain(..) {
                    for sku in &change.skus {
                        let Some([Some(available), reserved, sold]) = levels.get(slot[sku]).copied() else {
                            continue;
                        };
                        let _ = feed.send(StockEvent {
                            sku: sku.to_string(),
                            available,
                            reserved: reserved.unwrap_or(0),
                            sold: sold.unwrap_or(0),
                            kind: change.kind,
                            strategy: change.strategy,
                            attempts: change.effort.attempts,
                            conflicts: change.effort.conflicts,
                        });
                    }
                }
            }
            // Redis is down: these changes' events are lost, the next ones carry the state.
            Ok(Err(e)) => {
                tracing::warn!(error = %e, dropped = changes.len(), "events: stock read failed");
                changes.clear();
            }
            Err(_) => {
                tracing::warn!(dropped = changes.len(), "events: stock read timed out");
                changes.clear();
            }
        }
    }
}
