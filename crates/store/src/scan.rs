//! Walking the keys that match a pattern, a step at a time, on every server.
//!
//! An audit of a million orders must not hold a million key names: [`KeyScan`] hands out
//! each SCAN step's keys as it reads them, and remembers only a 64-bit hash of each key it
//! has handed out, because SCAN may return a key twice (while a server's table rehashes).

use super::Store;
use crate::error::StoreError;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

/// A SCAN over every server of a store; see the module documentation.
#[derive(Debug)]
pub struct KeyScan<'a> {
    store: &'a Store,
    pattern: String,
    count: usize,
    /// Servers not yet finished, the current one last; `None` until the first step.
    servers: Option<Vec<Option<String>>>,
    /// The cursor on the current server.
    cursor: u64,
    /// Hashes of the keys handed out: 8 bytes a key, where the names would take ~60.
    seen: HashSet<u64>,
    hasher: RandomState,
}

impl<'a> KeyScan<'a> {
    /// A walk over the keys matching `pattern`, asking for `count` per step.
    pub fn new(store: &'a Store, pattern: &str, count: usize) -> Self {
        Self {
            store,
            pattern: pattern.to_owned(),
            count,
            servers: None,
            cursor: 0,
            seen: HashSet::new(),
            hasher: RandomState::new(),
        }
    }

    /// The next keys not handed out before (never an empty step), or `None` at the end.
    /// Each step has its own response timeout. Keys written meanwhile may be missed, which
    /// the callers (audits, run at a quiet moment) accept.
    pub async fn next(&mut self) -> Result<Option<Vec<String>>, StoreError> {
        if self.servers.is_none() {
            let mut servers = self.store.redis.scan_servers().await?;
            servers.reverse();
            self.servers = Some(servers);
        }
        loop {
            let Some(server) = self.servers.as_ref().and_then(|s| s.last().cloned()) else {
                return Ok(None);
            };
            let deadline = self.store.deadline();
            let (next, keys) = (self.store.redis)
                .scan_step(server.as_deref(), self.cursor, &self.pattern, self.count, deadline)
                .await?;
            self.cursor = next;
            if next == 0 {
                self.servers.as_mut().map(Vec::pop);
            }
            let fresh: Vec<String> = keys
                .into_iter()
                .filter(|k| self.seen.insert(self.hasher.hash_one(k)))
                .collect();
            if !fresh.is_empty() {
                return Ok(Some(fresh));
            }
        }
    }
}

impl Store {
    /// Every key matching `pattern`, from every master (SCAN is per server), deduplicated
    /// and sorted. Cursor-based, so no server is blocked; keys written meanwhile may be
    /// missed, which the callers (audits) accept.
    pub async fn scan(&self, pattern: &str, count: usize) -> Result<Vec<String>, StoreError> {
        let (mut walk, mut keys) = (KeyScan::new(self, pattern, count), Vec::new());
        while let Some(step) = walk.next().await? {
            keys.extend(step);
        }
        keys.sort();
        Ok(keys)
    }
}
