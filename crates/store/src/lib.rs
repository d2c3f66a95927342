//! # stockwatch-store: Redis, reached safely
//!
//! The one crate that talks to Redis for the layers above: [`Store`] (connections, the key
//! layout, the knobs that shape transactions), [`txn`] (the optimistic-transaction engine:
//! WATCH/MULTI/EXEC, UNWATCH, reply checks, backoff), [`conn`] (one server or a cluster),
//! [`metrics`] (the Prometheus registry) and [`events`] (the stock-change feed published
//! after each commit). It knows nothing of purchases: operations plug into [`txn::Optimistic`].
//!
//! A [`Store`] is cheap to clone; share one per process. It talks to one Redis or to a
//! Redis Cluster ([`Target`]); [`Shared`] is the multiplexed connection of either kind, and
//! `cluster` keeps the slot map and the per-master pools that WATCH transactions need.

#![recursion_limit = "256"]

pub mod conn;
pub mod events;
pub mod metrics;
pub mod txn;

// The layer below, by the names this crate's modules use for it.
use stockwatch_core::{convert, domain, error, keys, outcome, retry};

mod cluster;
mod connections;
mod gather;
mod holds;
mod journal;
mod lanes;
mod pool;
mod scan;
mod version;

pub use crate::conn::{Shared, Target};
pub use connections::ConnectError;
use connections::Redis;
pub use pool::{Pooled, reused};
pub use scan::KeyScan;
pub use version::parse_redis_version;

use crate::error::StoreError;
use crate::keys::Keys;
use crate::retry::{Budget, ContentionAlert, RetryBudget, RetryPolicy};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Settings of a [`Store`]; each has a documented default.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Prefix of every key; tests use a fresh one each.
    pub key_prefix: String,
    /// Bound on every Redis call and on one whole operation (default 2 s); past it the caller
    /// gets `redis_unavailable` instead of hanging.
    pub response_timeout: Duration,
    /// How WATCH transactions retry on conflict.
    pub retry: RetryPolicy,
    /// Retries across all calls, as a share of first attempts (`None`: only each call's own
    /// policy limits them). The library leaves it off; `serve` and `bench` default to
    /// Finagle's 20 % plus 10 a second (docs/DESIGN.md, section 7; docs/guides/tuning.md, "The retry
    /// budget" says why these numbers).
    pub retry_budget: Option<RetryBudget>,
    /// Dedicated connections for WATCH transactions (default 50): each holds one from WATCH
    /// to EXEC, so this caps concurrent transactions.
    pub pool_size: usize,
    /// Pause between check and act on the `broken` path (default 5 ms, ±25% per call), so
    /// the race it teaches shows up even on a fast machine.
    pub broken_think_time: Duration,
    /// Cap of each SKU's movement history list (LTRIM), and MAXLEN ~ of the alert streams.
    pub movements_maxlen: usize,
    /// Group commit (default on): concurrent `watch` takes share one transaction instead of
    /// aborting each other, and concurrent `lua` takes share one script call. Off gives the
    /// textbook paths: one buyer per transaction, one buyer per script call.
    pub batching: bool,
    /// How long terminal reservations and idempotent answers are kept, then deleted by TTL
    /// (default 24 h, the contract's minimum).
    pub retention: Duration,
    /// How long a cross-slot cart's holds wait for their coordinator's decision before the
    /// expiry worker releases them (default 30 s; cluster only; far above the timeout).
    pub saga_hold: Duration,
    /// Whether committed changes are published for `GET /v1/events` (default on; the bench,
    /// measuring the engine, turns it off).
    pub publish_events: bool,
    /// Whether every change also writes its ledger entry (`crate::ops::journal`). On with a
    /// ledger URL; every writing process must agree, or the books miss their changes.
    pub journal: bool,
    /// When conflicts on one SKU raise a `contention` alert.
    pub contention_alert: ContentionAlert,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            key_prefix: "sw".into(),
            response_timeout: Duration::from_secs(2),
            retry: RetryPolicy::default(),
            retry_budget: None,
            pool_size: 50,
            broken_think_time: Duration::from_millis(5),
            movements_maxlen: 10_000,
            batching: true,
            retention: Duration::from_secs(24 * 3600),
            saga_hold: Duration::from_secs(30),
            publish_events: true,
            journal: false,
            contention_alert: Default::default(),
        }
    }
}

/// Connections and configuration shared by every operation.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    /// Per handle, so that [`Store::with_batching`] can share everything else.
    config: Arc<StoreConfig>,
    /// The connections, to one server or to a cluster: per handle, so that a
    /// [`lane`](Store::lane) has its own and shares everything else.
    redis: Arc<Redis>,
}

struct Inner {
    keys: Keys,
    /// Where Redis is, for lanes' connections.
    target: Target,
    /// Every lane's connections (the first store's included), for the pool's metrics.
    lanes: std::sync::Mutex<Vec<Arc<Redis>>>,
    /// What this process knows of holds: the expiry worker's wake-up, and the slots it
    /// listed lately.
    holds: holds::Holds,
    /// The slots this process listed for the ledger's projectors, and its unsent hints.
    journal: journal::Journal,
    /// Prometheus metrics of everything this store's callers do.
    metrics: crate::metrics::Metrics,
    /// Stock changes for `GET /v1/events`, published after each commit.
    events: crate::events::Events,
    /// The retry budget's account, shared by every transaction of this store.
    budget: Option<Budget>,
}

/// Work done by this store's callers since it was built: each caller's attempts (a group
/// commit attempt counts once per buyer it carries) and the conflicts among them. The bench
/// reads the difference across a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Attempts, the first of each call included.
    pub attempts: u64,
    /// Attempts aborted by a conflicting write.
    pub conflicts: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("prefix", &self.inner.keys.prefix())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Builds a store on one Redis at `redis_url`; see [`Store::connect`].
    pub fn new(redis_url: &str, config: StoreConfig) -> Result<Self, ConnectError> {
        Self::connect(&Target::Single(redis_url.to_owned()), config)
    }

    /// Builds the store without connecting: Redis may come up later, and `/readyz` says when.
    /// On a cluster, it must be called inside a Tokio runtime (the cluster client starts its
    /// own task).
    pub fn connect(target: &Target, config: StoreConfig) -> Result<Self, ConnectError> {
        // rediss:// needs a process-wide rustls crypto provider; the first store installs
        // ring's (a no-op when one is already installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let keys = Keys::new(&config.key_prefix)?;
        let redis = Arc::new(Redis::open(target, &config)?);
        let budget = config.retry_budget.map(|b| b.bucket());
        let wiring = crate::events::FeedTarget {
            target: target.clone(),
            keys: keys.clone(),
            conn: redis.own_shared(config.response_timeout)?,
            timeout: config.response_timeout,
        };
        let events = crate::events::Events::new(wiring, config.publish_events);
        Ok(Self {
            config: Arc::new(config),
            redis: redis.clone(),
            inner: Arc::new(Inner {
                keys,
                target: target.clone(),
                lanes: std::sync::Mutex::new(vec![redis]),
                holds: holds::Holds::default(),
                journal: journal::Journal::default(),
                metrics: crate::metrics::Metrics::new(),
                events,
                budget,
            }),
        })
    }

    /// A client of the server that owns `slot` (the only server, on one Redis), for callers
    /// that need connections of their own: the replay gives each buyer one, all on one SKU.
    pub async fn client_for(&self, slot: u16) -> Result<redis::Client, StoreError> {
        self.redis.client_for(slot).await
    }

    /// Whether this store talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.redis.is_cluster()
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The settings this store was built with.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The same store (connections, metrics, events) with group commit on or off, for a
    /// caller that wants the other path: the dashboard's rush shows textbook WATCH conflicts
    /// on a server that batches.
    pub fn with_batching(&self, batching: bool) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::new(StoreConfig {
                batching,
                ..(*self.config).clone()
            }),
            redis: self.redis.clone(),
        }
    }

    /// A dedicated connection to the server that owns `slot`, for one WATCH transaction.
    pub async fn dedicated(&self, slot: u16) -> Result<pool::Pooled, StoreError> {
        self.redis.dedicated(slot).await
    }

    /// After a redirect (or a lost master): reads the cluster's slot map again, so the next
    /// attempt goes to the new owner. Nothing to do on one Redis.
    pub async fn slots_moved(&self) {
        self.redis.slots_moved().await;
    }

    /// A call failed as if its master were gone (unreachable, or silent past the timeout).
    /// On a cluster a replica may be taking over: reconnect the shared connection with a
    /// fresh slot map and read ours again (both rate-limited), so the next call finds the
    /// new master without a restart. Nothing happens on one Redis.
    pub async fn master_lost(&self, e: &StoreError) {
        if self.is_cluster() && matches!(e, StoreError::Unavailable(_) | StoreError::Timeout) {
            // Boxed: rare, and inline its future would grow every query's.
            Box::pin(self.redis.master_lost()).await;
        }
    }

    /// Runs read commands within the response timeout ([`Shared::read_all`]).
    pub async fn read_all<T: redis::FromRedisValue>(&self, cmds: Vec<redis::Cmd>) -> Result<Vec<T>, StoreError> {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        Self::bounded(self.deadline(), self.shared().read_all(cmds)).await
    }

    /// Counts a first attempt towards the retry budget.
    pub fn first_attempt(&self) {
        if let Some(budget) = &self.inner.budget {
            budget.deposit();
        }
    }

    /// Whether the retry budget allows one more retry (always, without a budget).
    pub fn may_retry(&self) -> bool {
        self.inner.budget.as_ref().is_none_or(Budget::withdraw)
    }

    /// Attempts and conflicts so far, counted as Redis answered each attempt: mid-race this
    /// includes the attempts of calls still running, which [`Store::stats`] does not.
    pub fn live_stats(&self) -> Stats {
        let (attempts, conflicts) = self.inner.metrics.live_totals();
        Stats { attempts, conflicts }
    }

    /// Attempts and conflicts so far, counted as each call ends.
    pub fn stats(&self) -> Stats {
        let (attempts, conflicts) = self.inner.metrics.totals();
        Stats { attempts, conflicts }
    }

    /// The metrics registry `GET /metrics` renders.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// The stock-change feed behind `GET /v1/events`.
    pub fn events(&self) -> &crate::events::Events {
        &self.inner.events
    }

    /// A subscription to every committed stock change, from any process on this Redis.
    pub async fn subscribe_stock(&self) -> tokio::sync::broadcast::Receiver<crate::events::StockEvent> {
        self.inner.events.subscribe().await
    }

    /// A handle on the shared multiplexed connection. Never WATCH on it.
    pub fn shared(&self) -> Shared {
        self.redis.shared()
    }

    /// The point in time by which an operation starting now must answer.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.config.response_timeout
    }

    /// Runs one Redis future, bounded by `deadline`.
    pub async fn bounded<T, E: Into<StoreError>>(
        deadline: Instant,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout_at(deadline, fut).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// Runs an idempotent command (a read, a ZREM, PING) on the shared connection within the
    /// response timeout. When the connection was dropped (a restart, `CLIENT KILL`), it is
    /// tried once more on the connection the manager re-establishes, so one stale socket
    /// does not fail a read. Never use it for a command that must not run twice.
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let deadline = self.deadline();
        let mut conn = self.shared();
        let result = match Self::bounded(deadline, cmd.query_async::<T>(&mut conn)).await {
            Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                Self::bounded(deadline, cmd.query_async::<T>(&mut conn)).await
            }
            other => other,
        };
        if let Err(e) = &result {
            self.master_lost(e).await;
        }
        result
    }

    /// Redis's CPU time so far (`used_cpu_user + used_cpu_sys` of `INFO cpu`), in seconds,
    /// summed over every node of a cluster: the bench reads it around its timed window.
    pub async fn redis_cpu_seconds(&self) -> Result<f64, StoreError> {
        let used = |info: &str| -> f64 {
            info.lines()
                .filter_map(|l| {
                    let (name, value) = l.trim().split_once(':')?;
                    matches!(name, "used_cpu_user" | "used_cpu_sys").then(|| value.parse::<f64>().ok())?
                })
                .sum()
        };
        if self.is_cluster() {
            let infos: HashMap<String, String> = self.query(redis::cmd("INFO").arg("cpu")).await?;
            return Ok(infos.values().map(|i| used(i)).sum());
        }
        let info: String = self.query(redis::cmd("INFO").arg("cpu")).await?;
        Ok(used(&info))
    }

    /// PING: is Redis answering right now? On a cluster, also: does the node asked say
    /// `cluster_state:ok` (every slot served)?
    pub async fn ping(&self) -> Result<(), StoreError> {
        let pong: String = self.query(&redis::cmd("PING")).await?;
        if pong != "PONG" {
            return Err(StoreError::Protocol(pong.into()));
        }
        if self.is_cluster() {
            let info: String = self.query(redis::cmd("CLUSTER").arg("INFO")).await?;
            if !info.lines().any(|l| l.trim() == "cluster_state:ok") {
                return Err(StoreError::Moved("cluster_state is not ok".into()));
            }
        }
        Ok(())
    }

    /// The server's version as (major, minor, patch), from `INFO server`.
    pub async fn server_version(&self) -> Result<(u32, u32, u32), StoreError> {
        let missing = || StoreError::Protocol("INFO server has no redis_version".into());
        // A cluster answers INFO from every node, keyed by node: the oldest one counts.
        if self.is_cluster() {
            let infos: HashMap<String, String> = self.query(redis::cmd("INFO").arg("server")).await?;
            let versions: Option<Vec<_>> = infos.values().map(|i| parse_redis_version(i)).collect();
            return versions.and_then(|v| v.into_iter().min()).ok_or_else(missing);
        }
        let info: String = self.query(redis::cmd("INFO").arg("server")).await?;
        parse_redis_version(&info).ok_or_else(missing)
    }
}
