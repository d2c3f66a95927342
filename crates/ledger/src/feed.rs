//! The Redis side of the projector: one consumer group (`ledger`) over every slot's feed.
//!
//! Which slots: the hint set (`SPOP`, so two projectors split the hints), and on a full pass
//! every listed slot. Each slot's feed is read by its own XREADGROUP, since on a cluster a
//! command may not span slots; the store pipelines them per server.

use crate::convert;
use crate::error::StoreError;
use crate::ops::journal::Entry;
use crate::store::Store;
use redis::Value;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

/// The consumer group every projector joins.
pub(super) const GROUP: &str = "ledger";

/// Most hinted slots taken per round.
const HINTS_PER_ROUND: usize = 512;

/// One entry read from a slot's feed.
pub(super) struct FeedEntry {
    pub slot: u16,
    /// Its id in the feed: what XACK needs.
    pub id: String,
    /// The id it is known by in the books: its own, or for a replayed dead letter the
    /// original's, so a replay can never land twice.
    pub key: String,
    /// The raw `e` field, kept for a dead letter.
    pub raw: String,
    /// The entry, or why it could not be read.
    pub entry: Result<Entry, String>,
}

/// How far the books are behind, over every listed slot.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Lag {
    pub entries: u64,
    pub seconds: f64,
    pub dead_letters: u64,
}

/// This projector's consumer.
pub(super) struct Feed {
    store: Store,
    consumer: String,
    batch: usize,
    claim_idle: Duration,
    /// Slots whose group this consumer has made sure of.
    grouped: HashSet<u16>,
}

impl Feed {
    pub(super) fn new(store: Store, batch: usize, claim_idle: Duration) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let consumer = format!("{}-{}-{:08x}", host.trim(), std::process::id(), rand::random::<u32>());
        Self {
            store,
            consumer,
            batch,
            claim_idle,
            grouped: HashSet::new(),
        }
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    pub(super) fn consumer(&self) -> &str {
        &self.consumer
    }

    /// The slots to read this round: hinted ones, or on a full pass every listed one.
    pub(super) async fn slots(&mut self, full: bool) -> Result<Vec<u16>, StoreError> {
        let keys = self.store.keys();
        let mut slots: BTreeSet<u16> = self
            .store
            .query::<Vec<u16>>(redis::cmd("SPOP").arg(keys.ledger_dirty()).arg(HINTS_PER_ROUND))
            .await?
            .into_iter()
            .collect();
        if full {
            slots.extend(listed_slots(&self.store).await?);
        }
        let slots: Vec<u16> = slots.into_iter().collect();
        self.ensure_groups(&slots).await?;
        Ok(slots)
    }

    /// Creates the group on each slot's feed where this consumer has not yet (MKSTREAM: a
    /// group can exist before the feed's first entry, so nothing written later is missed).
    async fn ensure_groups(&mut self, slots: &[u16]) -> Result<(), StoreError> {
        let missing: Vec<u16> = slots.iter().copied().filter(|s| !self.grouped.contains(s)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let creates = missing
            .iter()
            .map(|&slot| {
                redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(self.store.keys().ledger_feed(slot))
                    .arg(GROUP)
                    .arg("0")
                    .arg("MKSTREAM")
                    .to_owned()
            })
            .collect();
        match self.store.read_all::<Value>(creates).await {
            Ok(_) => {}
            Err(e) if e.is_redis("BUSYGROUP") => {
                // Some exist already; make each one alone so none is skipped.
                for &slot in &missing {
                    let create = redis::cmd("XGROUP")
                        .arg("CREATE")
                        .arg(self.store.keys().ledger_feed(slot))
                        .arg(GROUP)
                        .arg("0")
                        .arg("MKSTREAM")
                        .to_owned();
                    match self.store.query::<Value>(&create).await {
                        Ok(_) => {}
                        Err(e) if e.is_redis("BUSYGROUP") => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
        self.grouped.extend(missing);
        Ok(())
    }

    /// New entries of `slots` for this consumer. A slot that filled its batch is hinted
    /// again, so the next round comes back for the rest.
    pub(super) async fn read(&mut self, slots: &[u16]) -> Result<Vec<FeedEntry>, StoreError> {
        let reads = slots
            .iter()
            .map(|&slot| {
                redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(&self.consumer)
                    .arg("COUNT")
                    .arg(self.batch)
                    .arg("STREAMS")
                    .arg(self.store.keys().ledger_feed(slot))
                    .arg(">")
                    .to_owned()
            })
            .collect();
        let replies: Vec<Option<StreamReadReply>> = match self.store.read_all(reads).await {
            Err(e) if e.is_redis("NOGROUP") => {
                // The feed was deleted (a FLUSHALL): make the groups again next round.
                self.grouped.clear();
                return Ok(Vec::new());
            }
            other => other?,
        };
        let mut out = Vec::new();
        let mut full = Vec::new();
        for (&slot, reply) in slots.iter().zip(replies) {
            let ids: Vec<StreamId> = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids).collect();
            if ids.len() >= self.batch {
                full.push(slot);
            }
            out.extend(ids.into_iter().map(|id| fed(slot, id)));
        }
        if !full.is_empty() {
            let _: i64 = self
                .store
                .query(redis::cmd("SADD").arg(self.store.keys().ledger_dirty()).arg(full))
                .await?;
        }
        Ok(out)
    }

    /// Entries another consumer was given and has not acknowledged for `claim_idle`: it
    /// died, or is stuck. Claimed for this one (XAUTOCLAIM).
    pub(super) async fn claim(&mut self, slots: &[u16]) -> Result<Vec<FeedEntry>, StoreError> {
        let claims = slots
            .iter()
            .map(|&slot| {
                redis::cmd("XAUTOCLAIM")
                    .arg(self.store.keys().ledger_feed(slot))
                    .arg(GROUP)
                    .arg(&self.consumer)
                    .arg(convert::millis(self.claim_idle))
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(self.batch)
                    .to_owned()
            })
            .collect();
        let replies: Vec<StreamAutoClaimReply> = self.store.read_all(claims).await?;
        let mut out = Vec::new();
        for (&slot, reply) in slots.iter().zip(replies) {
            if !reply.claimed.is_empty() {
                tracing::info!(
                    slot,
                    entries = reply.claimed.len(),
                    "ledger: claimed entries an idle consumer left"
                );
            }
            out.extend(reply.claimed.into_iter().map(|id| fed(slot, id)));
        }
        Ok(out)
    }

    /// XACK, per slot: only ever after the batch's COMMIT.
    pub(super) async fn ack(&self, batch: &[FeedEntry]) -> Result<(), StoreError> {
        let mut by_slot: HashMap<u16, Vec<&str>> = HashMap::new();
        for fed in batch {
            by_slot.entry(fed.slot).or_default().push(&fed.id);
        }
        let acks = by_slot
            .into_iter()
            .map(|(slot, ids)| {
                redis::cmd("XACK")
                    .arg(self.store.keys().ledger_feed(slot))
                    .arg(GROUP)
                    .arg(ids)
                    .to_owned()
            })
            .collect();
        self.store.read_all::<i64>(acks).await.map(drop)
    }
}

pub(super) type StreamRange = redis::streams::StreamRangeReply;

/// A feed entry id, `ms-seq`, as numbers (ordered as Redis orders them).
pub(super) type EntryId = (u64, u64);

/// Every slot listed for the projectors.
pub(super) async fn listed_slots(store: &Store) -> Result<Vec<u16>, StoreError> {
    store
        .query(redis::cmd("SMEMBERS").arg(store.keys().ledger_slots()))
        .await
}

/// `ms-seq` as numbers.
pub(super) fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

fn fed(slot: u16, id: StreamId) -> FeedEntry {
    let text = |name: &str| id.get::<String>(name);
    let raw = text("e").unwrap_or_default();
    let entry = match text("e") {
        None => Err("no `e` field".to_owned()),
        Some(json) => match serde_json::from_str::<Entry>(&json) {
            Ok(e) if e.v == crate::ops::journal::VERSION => Ok(e),
            Ok(e) => Err(format!(
                "format version {} is not {}",
                e.v,
                crate::ops::journal::VERSION
            )),
            Err(e) => Err(format!("not an entry: {e}")),
        },
    };
    FeedEntry {
        key: text("src").unwrap_or_else(|| id.id.clone()),
        id: id.id,
        slot,
        raw,
        entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_parse_and_order() {
        assert_eq!(parse_id("1700000000000-3"), Some((1_700_000_000_000, 3)));
        assert!(parse_id("1-2") < parse_id("1-10"));
        assert_eq!(parse_id("nope"), None);
    }
}
