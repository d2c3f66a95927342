//! Where Redis is, and the multiplexed connection every non-WATCH command shares. Below the
//! store, so that the store and the event feed beside it can both use it.

use crate::error::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The Redis a store talks to. Its `Debug` shows each URL without its password.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// One server (`REDIS_URL`).
    Single(String),
    /// A Redis Cluster, found from these seed URLs (`REDIS_CLUSTER_NODES`); each URL may
    /// carry the password, as in `REDIS_URL`.
    Cluster(Vec<String>),
}

impl Target {
    /// The seeds, for messages and for clients of their own.
    pub fn urls(&self) -> Vec<String> {
        match self {
            Self::Single(url) => vec![url.clone()],
            Self::Cluster(seeds) => seeds.clone(),
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, urls) = match self {
            Self::Single(url) => ("Single", std::slice::from_ref(url)),
            Self::Cluster(seeds) => ("Cluster", seeds.as_slice()),
        };
        let shown: Vec<String> = urls.iter().map(|u| without_password(u)).collect();
        f.debug_tuple(name).field(&shown).finish()
    }
}

/// `url` with any `user:password@` reduced to `user:***@`, for logs and `Debug`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        None => url.to_owned(),
    }
}

/// A cluster client builder on `seeds` with short internal retries. redis-rs's defaults
/// (16 retries, waits from 1.28 s up to 655 s) let one resharding stall every request on the
/// connection for minutes; stockwatch bounds each call itself and retries a moved slot from
/// WATCH, so the client only needs a few quick tries to follow `MOVED`, `ASK` and `TRYAGAIN`.
pub fn cluster_client(seeds: &[String]) -> redis::cluster::ClusterClientBuilder {
    redis::cluster::ClusterClientBuilder::new(seeds.iter().map(String::as_str))
        .retries(4)
        .min_retry_wait(10)
        .max_retry_wait(200)
}

/// The shared multiplexed connection: one server's self-reconnecting manager, or the
/// cluster client's connection, which routes each command by its key's slot and follows
/// MOVED and ASK itself. Never WATCH on it: other tasks' commands interleave.
#[derive(Debug, Clone)]
pub enum Shared {
    /// One server.
    Single(ConnectionManager),
    /// A cluster.
    Cluster(ClusterShared),
}

/// The cluster client's connection, replaceable. redis-rs learns a new slot map only from
/// a `MOVED`; a master that died never sends one, so after a failover the connection keeps
/// knocking on the dead node. [`ClusterShared::reset`] swaps in a fresh connection (which
/// reads the map anew) for every holder at once.
#[derive(Clone)]
pub struct ClusterShared(Arc<Replaceable>);

impl std::fmt::Debug for ClusterShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterShared").finish_non_exhaustive()
    }
}

struct Replaceable {
    client: redis::cluster::ClusterClient,
    config: redis::cluster::ClusterConfig,
    conn: RwLock<ClusterConnection>,
    /// When the connection was last replaced, so a burst of failures replaces it once.
    reset_at: Mutex<Option<Instant>>,
}

/// Replacements closer together than this reuse the last one.
const RESET_GAP: Duration = Duration::from_secs(1);

impl ClusterShared {
    /// A connection of `client` with `config`, made on first use.
    pub fn new(client: redis::cluster::ClusterClient, config: redis::cluster::ClusterConfig) -> Self {
        let conn = client.get_pending_async_connection_with_config(config.clone());
        Self(Arc::new(Replaceable {
            client,
            config,
            conn: RwLock::new(conn),
            reset_at: Mutex::new(None),
        }))
    }

    /// The connection now in use.
    pub fn current(&self) -> ClusterConnection {
        self.0.conn.read().expect("not poisoned").clone()
    }

    /// Replaces the connection with a fresh one, unless that was done a moment ago.
    pub fn reset(&self) {
        let mut last = self.0.reset_at.lock().expect("not poisoned");
        if last.is_some_and(|at| at.elapsed() < RESET_GAP) {
            return;
        }
        *last = Some(Instant::now());
        let fresh = self
            .0
            .client
            .get_pending_async_connection_with_config(self.0.config.clone());
        *self.0.conn.write().expect("not poisoned") = fresh;
        tracing::warn!("cluster: a master stopped answering; reconnecting with a fresh slot map");
    }
}

impl ConnectionLike for Shared {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => {
                let mut conn = c.current();
                Box::pin(async move { conn.req_packed_command(cmd).await })
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => {
                let mut conn = c.current();
                Box::pin(async move { conn.req_packed_commands(pipeline, offset, count).await })
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.current().get_db(),
        }
    }
}

impl Shared {
    /// Runs read commands and returns their replies in order: one pipeline on one Redis; on
    /// a cluster, each command on its own (a pipeline must stay in one slot), all at once
    /// over the multiplexed connection, which pipelines them per node.
    pub async fn read_all<T: redis::FromRedisValue>(&self, cmds: Vec<Cmd>) -> Result<Vec<T>, StoreError> {
        match self {
            Self::Single(conn) => {
                let mut pipe = redis::pipe();
                for cmd in cmds {
                    pipe.add_command(cmd);
                }
                Ok(pipe.query_async(&mut conn.clone()).await?)
            }
            Self::Cluster(conn) => {
                let replies = cmds.iter().map(|cmd| {
                    let mut conn = conn.current();
                    async move { cmd.query_async::<T>(&mut conn).await }
                });
                Ok(futures_util::future::try_join_all(replies).await?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Target, without_password};

    #[test]
    fn a_target_never_shows_its_password() {
        assert_eq!(without_password("redis://:s3cret@db:6379/0"), "redis://:***@db:6379/0");
        assert_eq!(
            without_password("rediss://app:s3cret@db/1?x=@"),
            "rediss://app:***@db/1?x=@"
        );
        assert_eq!(without_password("redis+unix:///tmp/r.sock"), "redis+unix:///tmp/r.sock");
        assert_eq!(without_password("redis://db:6379"), "redis://db:6379");
        let shown = format!(
            "{:?} {:?}",
            Target::Single("redis://app:s3cret@db:6379".into()),
            Target::Cluster(vec!["redis://:s3cret@a:7000".into(), "redis://b:7001".into()])
        );
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("a:7000") && shown.contains("b:7001"), "{shown}");
    }
}
