//! One group-commit batch of `watch` takes as one optimistic transaction
//! ([`txn::Optimistic`]): every SKU read once, each take decided in arrival order against
//! what the ones before it left, the accepted ones committed in one WATCH/MULTI/EXEC. The
//! queue that forms batches is `batch`.

use super::Take;
use super::decide::{Verdict, level_from};
use super::gate::{Gate, has_sale};
use super::receipt::{Outcome, Receipt};
use super::tail::Tail;
use crate::alerts::places_cmds;
use crate::convert;
use crate::domain::Sku;
use crate::error::Error;
use crate::idempotency::StoredAnswer;
use crate::level::Level;
use crate::outcome::Effort;
use crate::txn::{self, Optimistic, Plan, TxError};
use redis::Value;
use std::collections::HashMap;

/// Runs one batch as one optimistic transaction; one result per take, in order.
pub(super) async fn commit(takes: &[Take]) -> Vec<Result<Receipt, Error>> {
    let store = &takes[0].store;
    let deadline = takes.iter().map(|t| t.deadline).min().expect("a batch is never empty");
    let decided = txn::run_until(store, &Batch::new(takes), deadline).await;
    if matches!(decided, Ok(_) | Err(TxError::Rejected { .. })) {
        store.metrics().group_commit("watch", takes.len());
    }
    match decided {
        Ok(done) => done.output,
        Err(TxError::Rejected { rejection, .. }) => rejection,
        Err(TxError::Contention { attempts, throttled }) => takes
            .iter()
            .map(|_| Err(Error::Contention { attempts, throttled }))
            .collect(),
        Err(TxError::Store(e)) => takes.iter().map(|_| Err(Error::Store(e.clone()))).collect(),
    }
}

/// Many takes, decided in order against one read of every SKU they touch.
struct Batch<'a> {
    takes: &'a [Take],
    /// Every stock key the batch touches, each once, in order of first use, with its SKU.
    touched: Vec<(String, Sku)>,
    /// Per take, per line: where its SKU is in `touched` (each key is formatted once).
    at: Vec<Vec<usize>>,
}

impl<'a> Batch<'a> {
    fn new(takes: &'a [Take]) -> Self {
        let mut touched: Vec<(String, Sku)> = Vec::new();
        let mut place = |sku: &Sku, key: &String| {
            touched.iter().position(|(_, s)| s == sku).unwrap_or_else(|| {
                touched.push((key.clone(), sku.clone()));
                touched.len() - 1
            })
        };
        let at = takes
            .iter()
            .map(|take| {
                let lines = take.items.lines().iter().zip(take.stock_keys());
                lines.map(|(line, key)| place(&line.sku, key)).collect()
            })
            .collect();
        Self { takes, touched, at }
    }

    /// Each take with where its lines' SKUs are in `touched`.
    fn takes(&self) -> impl Iterator<Item = (&'a Take, &[usize])> {
        self.takes.iter().zip(self.at.iter().map(Vec::as_slice))
    }
}

impl Optimistic for Batch<'_> {
    /// Each stock hash, then each idempotent take's slot, in batch order.
    type Snapshot = Vec<Value>;
    /// Each take's receipt (committed or replayed) or its refusal.
    type Output = Vec<Result<Receipt, Error>>;
    /// Nothing to commit: every take was refused or replayed.
    type Rejection = Vec<Result<Receipt, Error>>;

    /// Every SKU and every stored answer: a repeat committed elsewhere must abort us.
    fn watch_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.touched.iter().map(|(k, _)| k.clone()).collect();
        keys.extend(self.takes.iter().filter_map(|t| t.idem.as_ref().map(|s| s.key.clone())));
        keys
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        for (key, _) in &self.touched {
            pipe.cmd("HGETALL").arg(key);
        }
        for slot in self.takes.iter().filter_map(|t| t.idem.as_ref()) {
            slot.read(pipe);
        }
    }

    /// A SKU with a sale: Redis's clock and its customers' counts (`gate`). The stock
    /// hashes are the snapshot's first replies, one per key.
    fn read_more(&self, snapshot: &Vec<Value>, pipe: &mut redis::Pipeline) {
        let keyed = self.takes.iter().filter(|t| t.idem.is_some()).count();
        let hashes = &snapshot[..snapshot.len().saturating_sub(keyed)];
        if !hashes.iter().any(has_sale) {
            return;
        }
        let on_sale: Vec<bool> = hashes.iter().map(has_sale).collect();
        let mut pairs = Vec::new();
        for (take, at) in self.takes() {
            take.sale_pairs(|i| on_sale.get(at[i]).copied().unwrap_or(false), &mut pairs);
        }
        Gate::read(&self.takes[0].store, &pairs, pipe);
    }

    fn add_more(&self, snapshot: &mut Vec<Value>, more: Vec<Value>) {
        snapshot.extend(more);
    }

    fn callers(&self) -> u32 {
        convert::u32_of(self.takes.len())
    }

    fn decide(&self, snapshot: Vec<Value>, attempt: u32) -> Result<Plan<Self::Output>, Self::Rejection> {
        let effort = Effort {
            attempts: attempt,
            conflicts: attempt - 1,
        };
        let mut values = snapshot.into_iter();
        // Each touched SKU's level, by its place in `touched`.
        let mut level: Vec<Option<Level>> = Vec::with_capacity(self.touched.len());
        // As read, the SKUs whose locations have low-stock entries: written once per batch.
        let mut indexed: Vec<(usize, Level)> = Vec::new();
        for (i, (_, sku)) in self.touched.iter().enumerate() {
            match level_from(sku, values.next()) {
                Ok(l) => {
                    if let Some(l) = l.as_ref().filter(|l| l.indexes_places()) {
                        indexed.push((i, l.clone()));
                    }
                    level.push(l);
                }
                Err(e) => return Err(self.takes.iter().map(|_| Err(e.clone())).collect()),
            }
        }
        let stored: Vec<Value> = values
            .by_ref()
            .take(self.takes.iter().filter(|t| t.idem.is_some()).count())
            .collect();
        let mut stored = stored.into_iter();
        let mut gate = Gate::default();
        let on_sale = |i: usize| level[i].as_ref().is_some_and(|l| l.sale.is_some());
        if (0..level.len()).any(on_sale) {
            let mut pairs = Vec::new();
            for (take, at) in self.takes() {
                take.sale_pairs(|i| on_sale(at[i]), &mut pairs);
            }
            gate = match Gate::parse(pairs, values.collect()) {
                Ok(gate) => gate,
                Err(e) => return Err(self.takes.iter().map(|_| Err(e.clone().into())).collect()),
            };
        }
        let mut writes = Vec::new();
        // What the takes share, written after all their other writes: their orders (one
        // MSET), counter moves (once per SKU and field), expiry entries and movements.
        let mut tail = Tail::default();
        let mut results = Vec::with_capacity(self.takes.len());
        // Slots answered earlier in this batch: a repeat inside one batch gets that answer.
        let mut answered: HashMap<&str, (&StoredAnswer, Result<Receipt, Error>)> = HashMap::new();
        for (take, at) in self.takes() {
            let stored = take.idem.as_ref().and_then(|_| stored.next());
            if let Some(slot) = &take.idem
                && let Some((first, answer)) = answered.get(slot.key.as_str())
            {
                results.push(match slot.same_request(first) {
                    true => answer.clone(),
                    false => Err(Error::IdempotencyKeyReused),
                });
                continue;
            }
            let levels: Vec<Option<&Level>> = at.iter().map(|&i| level[i].as_ref()).collect();
            let verdict = match take.recall(stored) {
                Ok(prior) => take.verdict(&levels, prior, effort, &mut tail, &mut gate),
                Err(e) => Verdict::Failed(e),
            };
            let result = match verdict {
                Verdict::Commit { writes: w, receipt, .. } => {
                    if let Outcome::Taken(_) = &receipt.outcome {
                        for (&i, drawn) in at.iter().zip(&receipt.drawn) {
                            if let Some(l) = level[i].as_mut() {
                                l.withdraw(drawn);
                            }
                        }
                    }
                    writes.extend(w);
                    Ok(receipt)
                }
                Verdict::Answer(receipt) => Ok(receipt),
                Verdict::Failed(e) => Err(e),
            };
            if let Some(slot) = &take.idem {
                answered.insert(slot.key.as_str(), (slot, result.clone()));
            }
            results.push(result);
        }
        if let Some(first) = self.takes.first() {
            for (i, before) in &indexed {
                if let Some(after) = &level[*i] {
                    writes.extend(places_cmds(&first.store, &self.touched[*i].1, before, after));
                }
            }
            writes.extend(tail.cmds(&first.store));
        }
        if writes.is_empty() {
            Err(results)
        } else {
            Ok(Plan {
                writes,
                output: results,
            })
        }
    }
}
