//! Orders leave Redis once they are in PostgreSQL and older than the retention, so Redis
//! memory stays flat however long the shop runs. Only projected orders are listed for aging
//! (after COMMIT), so an order never leaves Redis before the books have it.
//!
//! `verify` stays exact without them: the same transaction that deletes an order adds its
//! lines to its slot's `aged` counters, which `verify` adds to the orders it still finds.

use super::feed::FeedEntry;
use crate::convert;
use crate::domain::OrderId;
use crate::error::StoreError;
use crate::ops::Order;
use crate::store::Store;
use crate::txn::{self, Optimistic, Plan};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Orders aged out per slot per transaction.
const STEP: usize = 200;

/// Lists the batch's orders (now committed to PostgreSQL) for aging, by creation time.
pub(super) async fn listed(store: &Store, batch: &[FeedEntry]) -> Result<(), StoreError> {
    let mut by_slot: BTreeMap<u16, Vec<(i64, String)>> = BTreeMap::new();
    for order in batch.iter().filter_map(|f| f.entry.as_ref().ok()?.order.as_ref()) {
        let id = order.order_id;
        by_slot
            .entry(store.feed_slot(id.slot()))
            .or_default()
            .push((order.created_at, id.to_string()));
    }
    let adds = by_slot
        .into_iter()
        .map(|(slot, orders)| redis::cmd("ZADD").arg(store.keys().aging(slot)).arg(orders).to_owned())
        .collect();
    store.read_all::<i64>(adds).await.map(drop)
}

/// Ages out, in each slot, the listed orders created before `now - retention`.
pub(super) async fn age_out(store: &Store, slots: &[u16], retention: Duration) {
    let cutoff = crate::ops::now_ms() - convert::millis_i64(retention);
    for &slot in slots {
        loop {
            let due: Result<Vec<String>, _> = store
                .query(
                    redis::cmd("ZRANGE")
                        .arg(store.keys().aging(slot))
                        .arg("-inf")
                        .arg(cutoff)
                        .arg("BYSCORE")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(STEP),
                )
                .await;
            let ids: Vec<OrderId> = match due {
                Ok(ids) => ids.iter().filter_map(|id| OrderId::parse(id)).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, slot, "ledger: could not read orders due to age out");
                    break;
                }
            };
            if ids.is_empty() {
                break;
            }
            let step = AgeOut { store, slot, ids };
            if let Err(e) = txn::run(store, &step).await {
                tracing::warn!(error = ?e.to_string(), slot, "ledger: could not age orders out; next pass retries");
                break;
            }
            if step.ids.len() < STEP {
                break;
            }
        }
    }
}

/// Deletes due orders of one feed slot and adds their lines to its aged counters, in one
/// transaction that watches the orders (so an order is counted once, whoever races). On a
/// cluster the feed slot is the orders' own; on one server, every order's is 0.
struct AgeOut<'a> {
    store: &'a Store,
    slot: u16,
    ids: Vec<OrderId>,
}

impl Optimistic for AgeOut<'_> {
    type Snapshot = Vec<Option<String>>;
    type Output = ();
    type Rejection = StoreError;

    fn watch_keys(&self) -> Vec<String> {
        self.ids.iter().map(|id| self.store.keys().order(id)).collect()
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        for id in &self.ids {
            pipe.cmd("GET").arg(self.store.keys().order(id));
        }
    }

    fn decide(&self, orders: Vec<Option<String>>, _attempt: u32) -> Result<Plan<()>, StoreError> {
        let keys = self.store.keys();
        let mut sold: HashMap<String, i64> = HashMap::new();
        let mut writes = Vec::new();
        for (id, raw) in self.ids.iter().zip(orders) {
            if let Some(raw) = raw {
                let order: Order = serde_json::from_str(&raw)
                    .map_err(|e| StoreError::Protocol(format!("order {id} is not an order: {e}").into()))?;
                // What the order still sells: its returns' units are back in stock.
                for line in &order.items {
                    *sold.entry(line.sku.to_string()).or_default() += line.quantity - order.returned(&line.sku);
                }
                writes.push(redis::cmd("DEL").arg(keys.order(id)).to_owned());
            }
        }
        for (sku, quantity) in sold {
            writes.push(
                redis::cmd("HINCRBY")
                    .arg(keys.aged(self.slot))
                    .arg(sku)
                    .arg(quantity)
                    .to_owned(),
            );
        }
        let ids: Vec<String> = self.ids.iter().map(ToString::to_string).collect();
        writes.push(redis::cmd("ZREM").arg(keys.aging(self.slot)).arg(ids).to_owned());
        Ok(Plan { writes, output: () })
    }
}
