//! The Redis side of the projector: one consumer group (`ledger`) over every slot's feed.
//!
//! Which slots: the hint set (`SPOP`, so two projectors split the hints), and on a full pass
//! every listed slot. Each slot's feed is read by its own XREADGROUP, since on a cluster a
//! command may not span slots; the store pipelines them per server.

use crate::error::StoreError;
use crate::ops::journal::Entry;
use crate::store::Store;
use redis::Value;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

/// The consumer group every projector joins.
pub(super) const GROUP: &str = "ledger";

/// Most hinted slots taken per round.
const HINTS_PER_ROUND: usize = 512;

/// One entry read from a slot's feed.
pub(super) struct Fed {
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
            .query::<Vec<u16>>(redis::cmd("SPOP").arg(keys.journal_dirty()).arg(HINTS_PER_ROUND))
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
                    .arg(self.store.keys().journal(slot))
                    .arg(GROUP)
                    .arg("0")
                    .arg("MKSTREAM")
                    .to_owned()
            })
            .collect();
        match self.store.read_all::<Value>(creates).await {
            Ok(_) => {}
            Err(StoreError::Protocol(m)) if m.contains("BUSYGROUP") => {
                // Some exist already; make each one alone so none is skipped.
                for &slot in &missing {
                    let create = redis::cmd("XGROUP")
                        .arg("CREATE")
                        .arg(self.store.keys().journal(slot))
                        .arg(GROUP)
                        .arg("0")
                        .arg("MKSTREAM")
                        .to_owned();
                    match self.store.query::<Value>(&create).await {
                        Ok(_) => {}
                        Err(StoreError::Protocol(m)) if m.contains("BUSYGROUP") => {}
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
    pub(super) async fn read(&mut self, slots: &[u16]) -> Result<Vec<Fed>, StoreError> {
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
                    .arg(self.store.keys().journal(slot))
                    .arg(">")
                    .to_owned()
            })
            .collect();
        let replies: Vec<Option<StreamReadReply>> = match self.store.read_all(reads).await {
            Err(StoreError::Protocol(m)) if m.contains("NOGROUP") => {
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
                .query(redis::cmd("SADD").arg(self.store.keys().journal_dirty()).arg(full))
                .await?;
        }
        Ok(out)
    }

    /// Entries another consumer was given and has not acknowledged for `claim_idle`: it
    /// died, or is stuck. Claimed for this one (XAUTOCLAIM).
    pub(super) async fn claim(&mut self, slots: &[u16]) -> Result<Vec<Fed>, StoreError> {
        let claims = slots
            .iter()
            .map(|&slot| {
                redis::cmd("XAUTOCLAIM")
                    .arg(self.store.keys().journal(slot))
                    .arg(GROUP)
                    .arg(&self.consumer)
                    .arg(self.claim_idle.as_millis() as u64)
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
    pub(super) async fn ack(&self, batch: &[Fed]) -> Result<(), StoreError> {
        let mut by_slot: HashMap<u16, Vec<&str>> = HashMap::new();
        for fed in batch {
            by_slot.entry(fed.slot).or_default().push(&fed.id);
        }
        let acks = by_slot
            .into_iter()
            .map(|(slot, ids)| {
                redis::cmd("XACK")
                    .arg(self.store.keys().journal(slot))
                    .arg(GROUP)
                    .arg(ids)
                    .to_owned()
            })
            .collect();
        self.store.read_all::<i64>(acks).await.map(drop)
    }

    /// Moves an entry to its slot's dead letters and acknowledges it, in one MULTI (both
    /// keys are in its slot), so it is never both lost and acknowledged.
    pub(super) async fn dead_letter(&self, fed: &Fed, why: &str) -> Result<(), StoreError> {
        let keys = self.store.keys();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(keys.journal_dead(fed.slot))
            .arg("*")
            .arg(&[("e", fed.raw.as_str()), ("src", fed.key.as_str()), ("why", why)])
            .ignore()
            .cmd("XACK")
            .arg(keys.journal(fed.slot))
            .arg(GROUP)
            .arg(&fed.id)
            .ignore();
        let mut conn = self.store.shared();
        Store::bounded(self.store.deadline(), pipe.query_async::<()>(&mut conn)).await
    }

    /// Trims each feed behind every group on it (a group's floor is its oldest pending
    /// entry, or else the one after the last it was given), and measures what the ledger
    /// group has not acknowledged. Floors only rise while this runs (new deliveries come
    /// after the last one; claims keep ids), so a floor read here is safe to trim to.
    pub(super) async fn trim_and_measure(&self, slots: &[u16]) -> Result<Lag, StoreError> {
        let keys = self.store.keys();
        let infos: Vec<Value> = self
            .store
            .read_all(
                slots
                    .iter()
                    .map(|&s| redis::cmd("XINFO").arg("GROUPS").arg(keys.journal(s)).to_owned())
                    .collect(),
            )
            .await?;
        let mut lag = Lag::default();
        // Per slot, each group's floor; pending groups' floors are filled in below.
        let mut floors: Vec<(u16, String, Option<EntryId>)> = Vec::new();
        for (&slot, info) in slots.iter().zip(infos) {
            let groups: Vec<HashMap<String, Value>> = redis::from_redis_value(info).unwrap_or_default();
            for group in &groups {
                let text = |name: &str| {
                    group
                        .get(name)
                        .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
                };
                let num = |name: &str| {
                    group
                        .get(name)
                        .and_then(|v| redis::from_redis_value::<u64>(v.clone()).ok())
                };
                let name = text("name").unwrap_or_default();
                let pending = num("pending").unwrap_or(0);
                if name == GROUP {
                    // `lag` is nil when Redis cannot tell (after deletions): pending counts still.
                    lag.entries += pending + num("lag").unwrap_or(0);
                }
                let delivered = text("last-delivered-id").and_then(|id| parse_id(&id)).unwrap_or((0, 0));
                let floor = (pending == 0).then_some((delivered.0, delivered.1 + 1));
                floors.push((slot, name, floor));
            }
        }
        let pending_reads = floors
            .iter()
            .filter(|(_, _, floor)| floor.is_none())
            .map(|(slot, name, _)| redis::cmd("XPENDING").arg(keys.journal(*slot)).arg(name).to_owned())
            .collect();
        let summaries: Vec<Value> = self.store.read_all(pending_reads).await?;
        let mut summaries = summaries.into_iter();
        for (_, _, floor) in floors.iter_mut().filter(|(_, _, floor)| floor.is_none()) {
            let parts: Vec<Value> = summaries
                .next()
                .map(redis::from_redis_value)
                .and_then(Result::ok)
                .unwrap_or_default();
            let smallest = parts
                .get(1)
                .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
                .and_then(|id| parse_id(&id));
            // Unreadable: the floor of nothing, so nothing is trimmed.
            *floor = Some(smallest.unwrap_or((0, 0)));
        }
        let mut trims: HashMap<u16, (u64, u64)> = HashMap::new();
        for (slot, _, floor) in &floors {
            let floor = floor.unwrap_or((0, 0));
            trims.entry(*slot).and_modify(|f| *f = (*f).min(floor)).or_insert(floor);
        }
        let trims: Vec<(u16, (u64, u64))> = trims.into_iter().filter(|(_, f)| *f != (0, 0)).collect();
        let cmds: Vec<redis::Cmd> = trims
            .iter()
            .map(|(slot, (ms, seq))| {
                redis::cmd("XTRIM")
                    .arg(keys.journal(*slot))
                    .arg("MINID")
                    .arg(format!("{ms}-{seq}"))
                    .to_owned()
            })
            .chain(
                slots
                    .iter()
                    .map(|&s| redis::cmd("XLEN").arg(keys.journal_dead(s)).to_owned()),
            )
            .collect();
        let counts: Vec<u64> = self.store.read_all(cmds).await?;
        lag.dead_letters = counts[trims.len()..].iter().sum();
        if lag.entries > 0 {
            // Trimmed to the floors, each feed now starts at its oldest unacknowledged entry.
            let now = crate::ops::now_ms() as f64;
            let oldest = self.oldest_entry_ms(slots).await?;
            lag.seconds = oldest.map_or(0.0, |ms| (now - ms as f64).max(0.0) / 1000.0);
        }
        Ok(lag)
    }

    /// The time of the oldest entry in any of these feeds.
    async fn oldest_entry_ms(&self, slots: &[u16]) -> Result<Option<u64>, StoreError> {
        let firsts: Vec<StreamRange> = self
            .store
            .read_all(
                slots
                    .iter()
                    .map(|&s| {
                        redis::cmd("XRANGE")
                            .arg(self.store.keys().journal(s))
                            .arg("-")
                            .arg("+")
                            .arg("COUNT")
                            .arg(1)
                            .to_owned()
                    })
                    .collect(),
            )
            .await?;
        Ok(firsts
            .iter()
            .filter_map(|r| r.ids.first().and_then(|e| parse_id(&e.id)).map(|(ms, _)| ms))
            .min())
    }
}

type StreamRange = redis::streams::StreamRangeReply;

/// A feed entry id, `ms-seq`, as numbers (ordered as Redis orders them).
type EntryId = (u64, u64);

/// Every slot listed for the projectors.
pub(super) async fn listed_slots(store: &Store) -> Result<Vec<u16>, StoreError> {
    store
        .query(redis::cmd("SMEMBERS").arg(store.keys().journal_slots()))
        .await
}

/// `ms-seq` as numbers.
pub(super) fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

fn fed(slot: u16, id: StreamId) -> Fed {
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
    Fed {
        key: text("src").unwrap_or_else(|| id.id.clone()),
        id: id.id,
        slot,
        raw,
        entry,
    }
}

/// One dead letter, as `stockwatch ledger dead-letters` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// The slot whose feed it came from.
    pub slot: u16,
    /// Its id in the dead-letter stream.
    pub id: String,
    /// The id it had in the feed (what the books would key it by).
    pub source: String,
    /// Why the projector gave up on it.
    pub reason: String,
    /// The entry as it was written.
    pub entry: String,
}

/// Every dead letter, over every listed slot.
pub async fn dead_letters(store: &Store) -> Result<Vec<DeadLetter>, StoreError> {
    let mut out = Vec::new();
    for slot in listed_slots(store).await? {
        let range: StreamRange = store
            .query(
                redis::cmd("XRANGE")
                    .arg(store.keys().journal_dead(slot))
                    .arg("-")
                    .arg("+"),
            )
            .await?;
        for e in range.ids {
            out.push(DeadLetter {
                slot,
                source: e.get("src").unwrap_or_default(),
                reason: e.get("why").unwrap_or_default(),
                entry: e.get("e").unwrap_or_default(),
                id: e.id,
            });
        }
    }
    Ok(out)
}

/// Puts dead letters back into their feeds (all, or those whose source id is in `only`), in
/// one MULTI each with their removal, keeping their source id so a replay lands once.
pub async fn replay_dead_letters(store: &Store, only: &[String]) -> Result<usize, StoreError> {
    let mut replayed = 0;
    for letter in dead_letters(store).await? {
        if !only.is_empty() && !only.contains(&letter.source) {
            continue;
        }
        let keys = store.keys();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(keys.journal(letter.slot))
            .arg("*")
            .arg(&[("e", letter.entry.as_str()), ("src", letter.source.as_str())])
            .ignore()
            .cmd("XDEL")
            .arg(keys.journal_dead(letter.slot))
            .arg(&letter.id)
            .ignore();
        let mut conn = store.shared();
        Store::bounded(store.deadline(), pipe.query_async::<()>(&mut conn)).await?;
        replayed += 1;
    }
    Ok(replayed)
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
