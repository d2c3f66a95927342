//! The connections of each kind of [`Target`]: the shared multiplexed one, and the
//! dedicated ones WATCH needs (one pool on one Redis; one per master on a cluster).

use super::cluster;
use crate::conn::{Shared, Target};
use crate::error::StoreError;
use crate::{Store, StoreConfig};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;
use tokio::time::Instant;

/// Why a store could not be built. Only its settings can be wrong here: connections are made
/// on first use, so a Redis that is down is not an error yet.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `REDIS_URL` (or a node's URL) is not a Redis URL redis-rs accepts.
    #[error("REDIS_URL: {0}")]
    Url(#[source] redis::RedisError),
    /// The shared connection could not be set up with these settings.
    #[error("redis connection: {0}")]
    Client(#[source] redis::RedisError),
    /// `REDIS_CLUSTER_NODES` is empty.
    #[error("REDIS_CLUSTER_NODES: no seed URL")]
    NoSeed,
    /// The first seed is not a URL.
    #[error("REDIS_CLUSTER_NODES: {0}")]
    SeedUrl(#[source] url::ParseError),
    /// The cluster client refused the seeds.
    #[error("REDIS_CLUSTER_NODES: {0}")]
    Seeds(#[source] redis::RedisError),
    /// The pool of dedicated connections could not be built.
    #[error("redis pool: {0}")]
    Pool(#[source] deadpool_redis::BuildError),
    /// The key prefix is not one the key layout accepts.
    #[error(transparent)]
    Prefix(#[from] crate::keys::InvalidPrefix),
}

/// The connections of each kind of [`Target`].
pub(super) enum Redis {
    Single {
        /// Dedicated connections: one borrower at a time, so a WATCH belongs to one
        /// transaction.
        pool: super::pool::Pool,
        /// One multiplexed, self-reconnecting connection for everything that does not WATCH:
        /// scripts, plain reads, and `broken`'s unguarded writes. Concurrent calls pipeline.
        shared: ConnectionManager,
        /// For callers that need connections of their own (the replay gives each buyer one).
        client: redis::Client,
    },
    Cluster {
        /// The cluster client's multiplexed connection: routes by slot, follows redirects.
        shared: crate::conn::ClusterShared,
        /// The slot map and a pool of dedicated connections per master, for WATCH.
        topology: cluster::Topology,
    },
}

impl Redis {
    /// Opens nothing yet: connections are made on first use.
    pub(super) fn open(target: &Target, config: &StoreConfig) -> Result<Self, ConnectError> {
        let timeout = config.response_timeout;
        let pool_size = config.pool_size.max(1);
        let make_pool = move |url: &str| dedicated_pool(url, pool_size, timeout);
        Ok(match target {
            Target::Single(url) => {
                let client = redis::Client::open(url.as_str()).map_err(ConnectError::Url)?;
                let shared = lazy_manager(&client, timeout)?;
                Redis::Single {
                    pool: make_pool(url)?,
                    shared,
                    client,
                }
            }
            Target::Cluster(seeds) => {
                let first = seeds.first().ok_or(ConnectError::NoSeed)?;
                let client = crate::conn::cluster_client(seeds)
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .build()
                    .map_err(ConnectError::Seeds)?;
                let shared = crate::conn::ClusterShared::new(
                    client,
                    redis::cluster::ClusterConfig::new()
                        .set_connection_timeout(timeout)
                        .set_response_timeout(timeout),
                );
                Redis::Cluster {
                    shared,
                    topology: cluster::Topology::new(first, make_pool)?,
                }
            }
        })
    }

    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster { .. })
    }

    pub(super) fn shared(&self) -> Shared {
        match self {
            Self::Single { shared, .. } => Shared::Single(shared.clone()),
            Self::Cluster { shared, .. } => Shared::Cluster(shared.clone()),
        }
    }

    /// A multiplexed connection of its own for a long-lived task (the feed's outbox), made on
    /// first use: its reader and writer then run on that task's thread, so the task's calls
    /// never wake another thread (the shared one's run where the store was first used). On a
    /// cluster, the shared one.
    pub(super) fn own_shared(&self, timeout: Duration) -> Result<Shared, ConnectError> {
        match self {
            Self::Single { client, .. } => Ok(Shared::Single(lazy_manager(client, timeout)?)),
            Self::Cluster { .. } => Ok(self.shared()),
        }
    }

    /// The dedicated pools' connections (all masters' on a cluster), for `/metrics`.
    pub(super) fn pool_status(&self) -> deadpool_redis::Status {
        match self {
            Self::Single { pool, .. } => pool.status(),
            Self::Cluster { topology, .. } => topology.status(),
        }
    }

    pub(super) async fn client_for(&self, slot: u16) -> Result<redis::Client, StoreError> {
        let url = match self {
            Self::Single { client, .. } => return Ok(client.clone()),
            Self::Cluster { shared, topology } => {
                topology.pool_for(slot, &mut shared.current()).await?;
                topology.url_of_owner(slot)
            }
        };
        let url = url.ok_or_else(|| StoreError::Moved(format!("no master serves slot {slot}").into()))?;
        redis::Client::open(url).map_err(StoreError::from)
    }

    pub(super) async fn dedicated(&self, slot: u16) -> Result<super::pool::Pooled, StoreError> {
        let pool = match self {
            Self::Single { pool, .. } => pool.clone(),
            Self::Cluster { shared, topology } => topology.pool_for(slot, &mut shared.current()).await?,
        };
        Ok(pool.get().await?)
    }

    pub(super) async fn slots_moved(&self) {
        if let Self::Cluster { shared, topology } = self
            && let Err(e) = topology.refresh(&mut shared.current()).await
        {
            tracing::warn!(error = %e, "could not read the cluster's slot map");
        }
    }

    /// A master stopped answering (killed, or failing over): on a cluster, replace the
    /// shared connection (which would keep asking the dead node) and read the slot map.
    pub(super) async fn master_lost(&self) {
        if let Self::Cluster { shared, .. } = self {
            shared.reset();
            self.slots_moved().await;
        }
    }

    /// The servers a SCAN must walk: the one Redis (`None`), or every master now in the map.
    pub(super) async fn scan_servers(&self) -> Result<Vec<Option<String>>, StoreError> {
        match self {
            Self::Single { .. } => Ok(vec![None]),
            Self::Cluster { shared, topology } => {
                topology.refresh(&mut shared.current()).await?;
                Ok(topology.masters().into_iter().map(Some).collect())
            }
        }
    }

    /// One SCAN step on one server from [`Redis::scan_servers`]: the next cursor (0 at the
    /// end) and the keys of this step.
    pub(super) async fn scan_step(
        &self,
        server: Option<&str>,
        cursor: u64,
        pattern: &str,
        count: usize,
        deadline: Instant,
    ) -> Result<(u64, Vec<String>), StoreError> {
        let scan = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count)
            .to_owned();
        match (self, server) {
            (Self::Cluster { topology, .. }, Some(master)) => {
                let mut conn = topology.pool_of_master(master)?.get().await?;
                Store::bounded(deadline, scan.query_async(&mut *conn)).await
            }
            _ => Store::bounded(deadline, scan.query_async(&mut self.shared())).await,
        }
    }
}

/// A self-reconnecting multiplexed connection, made on first use.
fn lazy_manager(client: &redis::Client, timeout: Duration) -> Result<ConnectionManager, ConnectError> {
    ConnectionManager::new_lazy_with_config(
        client.clone(),
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200)),
    )
    .map_err(ConnectError::Client)
}

/// A pool of dedicated connections to one server: each transaction holds one from WATCH to
/// EXEC, so `size` caps concurrent transactions on that server.
fn dedicated_pool(url: &str, size: usize, timeout: Duration) -> Result<super::pool::Pool, ConnectError> {
    let conn_config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let manager = super::pool::Manager::new(url, conn_config).map_err(ConnectError::Url)?;
    super::pool::Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool_redis::Runtime::Tokio1)
        .build()
        .map_err(ConnectError::Pool)
}
