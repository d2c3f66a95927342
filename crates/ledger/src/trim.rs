//! Trimming the feeds behind every group, and measuring how far the books are behind.

use super::feed::{EntryId, Feed, GROUP, Lag, StreamRange, parse_id};
use crate::error::StoreError;
use redis::Value;
use std::collections::HashMap;

impl Feed {
    /// Trims each feed behind every group on it (a group's floor is its oldest pending
    /// entry, or else the one after the last it was given), and measures what the ledger
    /// group has not acknowledged. Floors only rise while this runs (new deliveries come
    /// after the last one; claims keep ids), so a floor read here is safe to trim to.
    pub(super) async fn trim_and_measure(&self, slots: &[u16]) -> Result<Lag, StoreError> {
        let keys = self.store().keys();
        let infos: Vec<Value> = self
            .store()
            .read_all(
                slots
                    .iter()
                    .map(|&s| redis::cmd("XINFO").arg("GROUPS").arg(keys.ledger_feed(s)).to_owned())
                    .collect(),
            )
            .await?;
        let mut lag = Lag::default();
        // Per slot, each group's floor; pending groups' floors are filled in below.
        let mut floors: Vec<(u16, String, Option<EntryId>)> = Vec::new();
        // Feeds the ledger group has not been made on yet: none of their entries is read.
        let mut ungrouped: Vec<u16> = Vec::new();
        for (&slot, info) in slots.iter().zip(infos) {
            let groups: Vec<HashMap<String, Value>> = redis::from_redis_value(info).unwrap_or_default();
            let mut grouped = false;
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
                    grouped = true;
                    // `lag` is nil when Redis cannot tell (after deletions): pending counts still.
                    lag.entries += pending + num("lag").unwrap_or(0);
                }
                let delivered = text("last-delivered-id").and_then(|id| parse_id(&id)).unwrap_or((0, 0));
                let floor = (pending == 0).then_some((delivered.0, delivered.1 + 1));
                floors.push((slot, name, floor));
            }
            if !grouped {
                ungrouped.push(slot);
            }
        }
        let pending_reads = floors
            .iter()
            .filter(|(_, _, floor)| floor.is_none())
            .map(|(slot, name, _)| redis::cmd("XPENDING").arg(keys.ledger_feed(*slot)).arg(name).to_owned())
            .collect();
        let summaries: Vec<Value> = self.store().read_all(pending_reads).await?;
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
                    .arg(keys.ledger_feed(*slot))
                    .arg("MINID")
                    .arg(format!("{ms}-{seq}"))
                    .to_owned()
            })
            .chain(
                slots
                    .iter()
                    .map(|&s| redis::cmd("XLEN").arg(keys.ledger_dead(s)).to_owned()),
            )
            .chain(
                ungrouped
                    .iter()
                    .map(|&s| redis::cmd("XLEN").arg(keys.ledger_feed(s)).to_owned()),
            )
            .collect();
        let counts: Vec<u64> = self.store().read_all(cmds).await?;
        let (dead, unread) = counts[trims.len()..].split_at(slots.len());
        lag.dead_letters = dead.iter().sum();
        lag.entries += unread.iter().sum::<u64>();
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
            .store()
            .read_all(
                slots
                    .iter()
                    .map(|&s| {
                        redis::cmd("XRANGE")
                            .arg(self.store().keys().ledger_feed(s))
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
