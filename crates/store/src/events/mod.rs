//! The stock-change feed behind `GET /v1/events` (and the dashboard), shared by every
//! process on the same Redis.
//!
//! Operations report a change only after their transaction committed, so an aborted attempt
//! never shows up. Two tasks per process carry it:
//! - the **outbox** (`outbox`) takes this process's changes in the order they were
//!   reported, reads the new stock of their SKUs (once per SKU per batch) and publishes the
//!   events on Redis: `PUBLISH` on one server; on a cluster, sharded `SPUBLISH` on one of
//!   [`crate::keys::EVENT_SHARDS`] channels chosen by the SKU's slot, so the feed's traffic
//!   spreads over the masters with the stock;
//! - the **inbox** (`inbox`) subscribes (`SUBSCRIBE` / `SSUBSCRIBE`, RESP3 pushes),
//!   broadcasts what any process published to this process's subscribers and, after it
//!   reconnects, re-reads the stock of every SKU it has shown, so a gap never leaves a
//!   stale number on screen.
//!
//! So a sale through one `serve` process, or a hold released by a separate `expiry-worker`,
//! shows on every process's feed. Pub/sub and not a stream: the feed is a view of current
//! state (each event carries the whole stock object), so a lost message costs nothing that
//! the next event or the resync does not restore, and nothing is kept or trimmed in Redis.

mod inbox;
mod listeners;
mod outbox;

use crate::conn::{Shared, Target};
use crate::domain::{EntryKind, Sku};
use crate::keys::Keys;
use crate::outcome::Effort;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// Events kept for a slow subscriber before it skips ahead (each event carries the whole
/// stock object, so skipping loses no state, only intermediate steps).
const BACKLOG: usize = 4096;

/// One `event: stock` of `GET /v1/events`: the stock object after the change, plus what
/// made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockEvent {
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// `available` as read after the change (negative after `broken` oversold).
    pub available: i64,
    /// `reserved` after the change.
    pub reserved: i64,
    /// `sold` after the change.
    pub sold: i64,
    /// Movement kind: `set`, `restock`, `purchase`, `checkout`, `reserve`, `confirm`,
    /// `cancel` or `expire`; or `resync`, the state re-read after the feed reconnected.
    #[schema(value_type = String)]
    pub kind: FeedKind,
    /// `watch`, `lua` or `broken`.
    pub strategy: String,
    /// Attempts the committing call made.
    pub attempts: u32,
    /// Of which aborted by a conflicting write.
    pub conflicts: u32,
    /// When the change committed, as the committing process saw it (Unix epoch ms; for a
    /// `resync`, when the level was re-read): a client measures the feed's delay from it.
    pub committed_at: i64,
}

/// What a [`StockEvent`] reports: a committed change of that kind, or the state re-read
/// after the feed reconnected. Written as the kind's name, or `resync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// A change of this kind committed.
    Moved(EntryKind),
    /// The stock re-read after a gap in the feed.
    Resync,
}

impl FeedKind {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Moved(kind) => kind.as_str(),
            Self::Resync => "resync",
        }
    }
}

impl Serialize for FeedKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FeedKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match &*name {
            "resync" => Ok(Self::Resync),
            other => EntryKind::parse(other)
                .map(Self::Moved)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown event kind {other:?}"))),
        }
    }
}

/// A committed change, as reported by an operation.
#[derive(Debug, Clone)]
pub struct Change {
    /// The SKUs whose stock changed.
    pub skus: Vec<Sku>,
    /// What changed them.
    pub kind: EntryKind,
    /// The strategy that committed it.
    pub strategy: &'static str,
    /// What the commit cost.
    pub effort: Effort,
    /// When it committed (Unix epoch ms).
    pub committed_at: i64,
}

/// Where the feed's tasks find Redis.
#[derive(Debug, Clone)]
pub struct FeedTarget {
    /// For the inbox's own subscriber connection.
    pub target: Target,
    /// The key layout, for the feed's channels and the stock hashes it reads.
    pub keys: Keys,
    /// A multiplexed connection of the feed's own, for the outbox's reads and publishes (and
    /// the inbox's resync reads). Made on first use, so it runs on the outbox's thread.
    pub conn: Shared,
    /// Bound on each read or publish.
    pub timeout: Duration,
}

/// The feed: this process's subscribers, and the two tasks that link it to Redis, each
/// started on first use (the outbox by the first change, the inbox by the first subscriber).
pub struct Events {
    wiring: FeedTarget,
    /// Whether this process publishes its changes (the bench turns it off).
    publish: bool,
    feed: broadcast::Sender<StockEvent>,
    outbox: OnceLock<mpsc::UnboundedSender<Change>>,
    /// Whether the outbox's last publish reached anyone.
    listeners: Arc<listeners::Listeners>,
    /// Whether the inbox's subscription is live; set once the inbox has started.
    inbox: OnceLock<watch::Receiver<bool>>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("publish", &self.publish)
            .finish_non_exhaustive()
    }
}

impl Events {
    /// A feed on `wiring`; nothing runs until it is used.
    pub fn new(wiring: FeedTarget, publish: bool) -> Self {
        Self {
            wiring,
            publish,
            feed: broadcast::channel(BACKLOG).0,
            outbox: OnceLock::new(),
            listeners: Arc::new(listeners::Listeners::new()),
            inbox: OnceLock::new(),
        }
    }

    /// A new subscription to every process's changes. The first one starts the inbox (on
    /// the current runtime; it ends when the store is dropped). Waits, up to the response
    /// timeout, until the inbox is subscribed on Redis and every outbox knows it (a moment
    /// more: `listeners`), so that what commits after this returns is seen; if Redis is
    /// down, the subscription starts empty and catches up.
    pub async fn subscribe(&self) -> broadcast::Receiver<StockEvent> {
        let receiver = self.feed.subscribe();
        let mut live = self
            .inbox
            .get_or_init(|| {
                let (tx, rx) = watch::channel(false);
                tokio::spawn(inbox::run(self.wiring.clone(), self.feed.downgrade(), tx));
                rx
            })
            .clone();
        let _ = tokio::time::timeout(self.wiring.timeout, live.wait_for(|live| *live)).await;
        receiver
    }

    /// Queues a committed change for publishing, unless no process follows the feed
    /// (`listeners`: the outbox's last publish, a moment ago, reached no subscriber).
    /// The change is built only then: a take with nobody listening copies nothing.
    pub fn changed(&self, change: impl FnOnce() -> Change) {
        if !self.publish || self.listeners.nobody() {
            return;
        }
        let change = change();
        if change.skus.is_empty() {
            return;
        }
        let outbox = self.outbox.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(outbox::run(rx, self.wiring.clone(), self.listeners.clone()));
            tx
        });
        let _ = outbox.send(change);
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, crate::convert::millis_i64)
}
