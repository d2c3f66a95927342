//! Redis Cluster: which master owns each slot, and a pool of dedicated connections to each.
//!
//! A WATCH transaction must run on one connection to the master that owns its slot, from
//! WATCH to EXEC; the cluster client's multiplexed connection cannot give that. So the store
//! keeps its own slot map (from `CLUSTER SLOTS`) and one deadpool pool per master. A
//! `MOVED`, `ASK`, `TRYAGAIN` or `CLUSTERDOWN` aborts the attempt ([`StoreError::Moved`]);
//! the engine asks for a [`Topology::refresh`] and retries from WATCH on the new owner, so
//! an EXEC only ever goes to the connection that saw its attempt's WATCH (docs/DESIGN.md,
//! section 4).

use crate::ConnectError;
use crate::error::{Cause, StoreError};
use crate::keys::SLOTS;
use redis::Value;
use redis::cluster_async::ClusterConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// A master's address, `host:port`.
type Node = Arc<str>;

/// Refreshes closer together than this reuse the last map: a burst of MOVED replies during
/// a resharding asks once.
const REFRESH_GAP: Duration = Duration::from_millis(50);

/// Makes a pool of dedicated connections for a node's URL, with the store's settings.
type MakePool = Box<dyn Fn(&str) -> Result<super::pool::Pool, ConnectError> + Send + Sync>;

/// The slot map and the per-master pools.
pub(crate) struct Topology {
    /// The first seed URL: the scheme (TLS or not) and credentials every node shares.
    seed: url::Url,
    /// Builds a pool for a node's URL (the store's pool settings).
    make_pool: MakePool,
    /// The owner of each slot, as last read; `None` until read, or for an uncovered slot.
    owners: RwLock<Arc<Vec<Option<Node>>>>,
    /// Dedicated connections, per master.
    pools: Mutex<HashMap<Node, super::pool::Pool>>,
    /// When the map was last read, so a burst of redirects refreshes once.
    refreshed: tokio::sync::Mutex<Option<Instant>>,
}

impl Topology {
    /// A topology that reads its map on first use.
    pub(crate) fn new(
        seed: &str,
        make_pool: impl Fn(&str) -> Result<super::pool::Pool, ConnectError> + Send + Sync + 'static,
    ) -> Result<Self, ConnectError> {
        let seed = url::Url::parse(seed).map_err(ConnectError::SeedUrl)?;
        Ok(Self {
            seed,
            make_pool: Box::new(make_pool),
            owners: RwLock::new(Arc::new(vec![None; SLOTS as usize])),
            pools: Mutex::new(HashMap::new()),
            refreshed: tokio::sync::Mutex::new(None),
        })
    }

    /// The pool of the master that owns `slot`, reading the map first if it is unknown.
    pub(crate) async fn pool_for(
        &self,
        slot: u16,
        conn: &mut ClusterConnection,
    ) -> Result<super::pool::Pool, StoreError> {
        let owner = match self.owner(slot) {
            Some(node) => node,
            None => {
                self.refresh(conn).await?;
                self.owner(slot)
                    .ok_or_else(|| StoreError::Moved(format!("no master serves slot {slot}").into()))?
            }
        };
        self.pool_of(&owner)
    }

    fn owner(&self, slot: u16) -> Option<Node> {
        self.owners.read().expect("not poisoned")[usize::from(slot % SLOTS)].clone()
    }

    fn pool_of(&self, node: &Node) -> Result<super::pool::Pool, StoreError> {
        let mut pools = self.pools.lock().expect("not poisoned");
        if let Some(pool) = pools.get(node) {
            return Ok(pool.clone());
        }
        let pool =
            (self.make_pool)(&self.url_of(node)).map_err(|e| StoreError::Unavailable(Cause::Other(Arc::new(e))))?;
        pools.insert(node.clone(), pool.clone());
        Ok(pool)
    }

    /// The URL of a node: the seed's scheme and credentials, the node's host and port.
    pub(crate) fn url_of(&self, node: &str) -> String {
        let mut url = self.seed.clone();
        if let Some((host, port)) = node.rsplit_once(':') {
            let _ = url.set_host(Some(host));
            let _ = url.set_port(port.parse().ok());
        }
        url.to_string()
    }

    /// The URL of the master that owns `slot`, if the map knows it.
    pub(crate) fn url_of_owner(&self, slot: u16) -> Option<String> {
        self.owner(slot).map(|node| self.url_of(&node))
    }

    /// Every master now in the map.
    pub(crate) fn masters(&self) -> Vec<String> {
        let owners = self.owners.read().expect("not poisoned").clone();
        let mut masters: Vec<String> = owners.iter().flatten().map(|n| n.to_string()).collect();
        masters.sort();
        masters.dedup();
        masters
    }

    /// The pool of a master found by [`Topology::masters`].
    pub(crate) fn pool_of_master(&self, node: &str) -> Result<super::pool::Pool, StoreError> {
        self.pool_of(&Node::from(node))
    }

    /// Reads the slot map again (`CLUSTER SLOTS`), unless it was read a moment ago.
    pub(crate) async fn refresh(&self, conn: &mut ClusterConnection) -> Result<(), StoreError> {
        let mut last = self.refreshed.lock().await;
        if last.is_some_and(|at| at.elapsed() < REFRESH_GAP) {
            return Ok(());
        }
        // Ask the masters we know directly first: after a failover the cluster client may
        // still route to the dead one. Any live master knows the whole map.
        let mut reply = None;
        for master in self.masters() {
            let asked = async {
                let mut direct = self.pool_of(&Node::from(master.as_str()))?.get().await?;
                Ok::<Value, StoreError>(redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut *direct).await?)
            };
            if let Ok(slots) = asked.await {
                reply = Some(slots);
                break;
            }
        }
        let reply: Value = match reply {
            Some(slots) => slots,
            None => redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await?,
        };
        let owners = parse_slots(reply, self.seed.host_str().unwrap_or("127.0.0.1"))?;
        *self.owners.write().expect("not poisoned") = Arc::new(owners);
        *last = Some(Instant::now());
        Ok(())
    }

    /// The pools' connections, summed over the masters, for `/metrics`.
    pub(crate) fn status(&self) -> deadpool_redis::Status {
        let pools = self.pools.lock().expect("not poisoned");
        let mut total = deadpool_redis::Status {
            max_size: 0,
            size: 0,
            available: 0,
            waiting: 0,
        };
        for status in pools.values().map(super::pool::Pool::status) {
            total.max_size += status.max_size;
            total.size += status.size;
            total.available += status.available;
            total.waiting += status.waiting;
        }
        total
    }
}

/// The owner of each slot from a `CLUSTER SLOTS` reply: `[start, end, [host, port, …], …]`
/// per range. An empty host means the node we asked; `default_host` stands in for it.
fn parse_slots(reply: Value, default_host: &str) -> Result<Vec<Option<Node>>, StoreError> {
    let bad = || StoreError::Protocol("CLUSTER SLOTS: unexpected reply".into());
    let ranges: Vec<Vec<Value>> = redis::from_redis_value(reply).map_err(|_| bad())?;
    let mut owners = vec![None; SLOTS as usize];
    for range in ranges {
        let mut fields = range.into_iter();
        let (Some(start), Some(end), Some(master)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(bad());
        };
        let start: usize = redis::from_redis_value(start).map_err(|_| bad())?;
        let end: usize = redis::from_redis_value(end).map_err(|_| bad())?;
        let master: Vec<Value> = redis::from_redis_value(master).map_err(|_| bad())?;
        let mut master = master.into_iter();
        let host: String = master
            .next()
            .and_then(|h| redis::from_redis_value(h).ok())
            .ok_or_else(bad)?;
        let port: u16 = master
            .next()
            .and_then(|p| redis::from_redis_value(p).ok())
            .ok_or_else(bad)?;
        let host = if host.is_empty() || host == "?" {
            default_host.to_owned()
        } else {
            host
        };
        let node: Node = Node::from(format!("{host}:{port}"));
        for owner in owners.iter_mut().take(end.min(SLOTS as usize - 1) + 1).skip(start) {
            *owner = Some(node.clone());
        }
    }
    Ok(owners)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn slot_ranges_map_to_their_master() {
        let range = |start, end, host: &str, port| {
            Value::Array(vec![
                Value::Int(start),
                Value::Int(end),
                Value::Array(vec![bulk(host), Value::Int(port), bulk("id")]),
                Value::Array(vec![bulk(host), Value::Int(port + 100), bulk("replica")]),
            ])
        };
        let reply = Value::Array(vec![range(0, 5460, "10.0.0.1", 7000), range(5461, 16383, "", 7001)]);
        let owners = parse_slots(reply, "127.0.0.1").unwrap();
        assert_eq!(owners[0].as_deref(), Some("10.0.0.1:7000"));
        assert_eq!(owners[5460].as_deref(), Some("10.0.0.1:7000"));
        assert_eq!(owners[5461].as_deref(), Some("127.0.0.1:7001"));
        assert_eq!(owners[16383].as_deref(), Some("127.0.0.1:7001"));
        assert!(parse_slots(Value::Array(vec![Value::Int(1)]), "h").is_err());
    }

    #[test]
    fn node_urls_keep_the_seeds_scheme_and_credentials() {
        let topology = Topology::new("rediss://user:secret@seed:7000/", |_| Err(ConnectError::NoSeed)).unwrap();
        assert_eq!(
            topology.url_of("127.0.0.1:7002"),
            "rediss://user:secret@127.0.0.1:7002/"
        );
    }
}
