//! Group commit for hot SKUs.
//!
//! On one hot key, N optimistic transactions from one process mostly abort each other: about
//! one in N commits per round. So the process does not race itself: concurrent single-line
//! takes of the same SKU queue behind one leader task, which decides them in arrival order
//! against the level it read and commits the accepted ones in one WATCH/MULTI/EXEC. Each
//! buyer still gets its own answer and its own order, and a buyer is still all-or-nothing.
//! WATCH still guards against every other writer (other processes, admin calls, carts).

use super::Effort;
use super::idempotency::Slot;
use super::take::{Outcome, Receipt, Settled, Take};
use crate::error::{Error, StoreError};
use crate::txn::{self, Optimistic, Plan, TxError};
use redis::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Most takes one transaction commits; bounds the size of a MULTI.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Receipt, Error>>;

/// The queues of waiting takes, one per SKU. A queue exists exactly while its leader runs.
#[derive(Default)]
pub(crate) struct Combiner {
    queues: Mutex<HashMap<String, Vec<(Take, Reply)>>>,
}

impl Combiner {
    /// Queues `take` (a single-line take) and waits for its batch to finish. Starts a leader
    /// for its SKU when none is running.
    pub async fn submit(self: &Arc<Self>, take: Take) -> Result<Receipt, Error> {
        let key = take.watch_keys().concat();
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut queues = self.queues.lock().expect("combiner lock");
            match queues.get_mut(&key) {
                Some(waiting) => {
                    waiting.push((take, tx));
                    false
                }
                None => {
                    queues.insert(key.clone(), vec![(take, tx)]);
                    true
                }
            }
        };
        if lead {
            tokio::spawn(Arc::clone(self).lead(key));
        }
        rx.await.unwrap_or_else(|_| {
            Err(Error::Store(crate::StoreError::Protocol(
                "group commit leader stopped".into(),
            )))
        })
    }

    /// Commits batches for one SKU until its queue is empty, then removes the queue.
    async fn lead(self: Arc<Self>, key: String) {
        loop {
            let batch: Vec<(Take, Reply)> = {
                let mut queues = self.queues.lock().expect("combiner lock");
                let Some(waiting) = queues.get_mut(&key) else { return };
                if waiting.is_empty() {
                    queues.remove(&key);
                    return;
                }
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect()
            };
            // A take whose caller has already timed out is answered, not run: committing it
            // now would turn its 503 into a lie.
            let now = tokio::time::Instant::now();
            let (live, expired): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(t, _)| t.deadline > now);
            for (_, reply) in expired {
                let _ = reply.send(Err(Error::Store(StoreError::Timeout)));
            }
            if live.is_empty() {
                continue;
            }
            let (takes, replies): (Vec<Take>, Vec<Reply>) = live.into_iter().unzip();
            let results = commit(&takes).await;
            for (reply, result) in replies.into_iter().zip(results) {
                // A buyer that went away still has its order; nobody is left to tell.
                let _ = reply.send(result);
            }
        }
    }
}

/// Runs one batch as one optimistic transaction; one result per take, in order.
async fn commit(takes: &[Take]) -> Vec<Result<Receipt, Error>> {
    let store = &takes[0].store;
    let deadline = takes.iter().map(|t| t.deadline).min().expect("a batch is never empty");
    match txn::run_until(store, &Batch { takes }, deadline).await {
        Ok(done) => done.output,
        Err(TxError::Rejected { rejection, .. }) => rejection,
        Err(TxError::Contention { attempts }) => takes.iter().map(|_| Err(Error::Contention { attempts })).collect(),
        Err(TxError::Store(e)) => takes.iter().map(|_| Err(Error::Store(e.clone()))).collect(),
    }
}

/// Many single-line takes of one SKU, decided in order against one read.
struct Batch<'a> {
    takes: &'a [Take],
}

impl Optimistic for Batch<'_> {
    /// The SKU's `available`, then each idempotent take's slot, in batch order.
    type Snapshot = Vec<Value>;
    /// Each take's receipt (committed or replayed) or its refusal.
    type Output = Vec<Result<Receipt, Error>>;
    /// Nothing to commit: every take was refused or replayed.
    type Rejection = Vec<Result<Receipt, Error>>;

    fn weight(&self) -> u64 {
        self.takes.len() as u64
    }

    /// The SKU and every idempotency slot: a repeat committed elsewhere must abort us.
    fn watch_keys(&self) -> Vec<String> {
        let mut keys = vec![self.takes[0].store.keys().stock(&self.takes[0].items.lines()[0].sku)];
        keys.extend(self.takes.iter().filter_map(|t| t.idem.as_ref().map(|s| s.key.clone())));
        keys
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        let first = &self.takes[0];
        pipe.cmd("HGET")
            .arg(first.store.keys().stock(&first.items.lines()[0].sku))
            .arg("available");
        for slot in self.takes.iter().filter_map(|t| t.idem.as_ref()) {
            slot.read(pipe);
        }
    }

    fn decide(&self, snapshot: Vec<Value>, attempt: u32) -> Result<Plan<Self::Output>, Self::Rejection> {
        let effort = Effort {
            attempts: attempt,
            conflicts: attempt - 1,
        };
        let mut values = snapshot.into_iter();
        let mut level: Vec<Option<i64>> = match values.next().map(redis::from_redis_value) {
            Some(Ok(level)) => vec![level],
            _ => {
                let e = Error::Store(StoreError::Protocol("batch read has no stock level".into()));
                return Err(self.takes.iter().map(|_| Err(e.clone())).collect());
            }
        };
        let mut writes = Vec::new();
        let mut results = Vec::with_capacity(self.takes.len());
        // Slots answered earlier in this batch: a repeat inside one batch gets that answer.
        let mut answered: HashMap<&str, (&Slot, Result<Receipt, Error>)> = HashMap::new();
        for take in self.takes {
            let stored = take.idem.as_ref().and_then(|_| values.next());
            if let Some(slot) = &take.idem
                && let Some((first, answer)) = answered.get(slot.key.as_str())
            {
                results.push(match slot.same_request(first) {
                    true => answer.clone(),
                    false => Err(Error::IdempotencyKeyReused),
                });
                continue;
            }
            let settled = match take.recall(stored) {
                Ok(recalled) => take.settle(&level, recalled, effort),
                Err(e) => Settled::Refused(e),
            };
            let result = match settled {
                Settled::Commit { writes: w, receipt } => {
                    if let Outcome::Taken(left) = &receipt.outcome {
                        level = vec![Some(left[0])];
                    }
                    writes.extend(w);
                    Ok(receipt)
                }
                Settled::Replay(receipt) => Ok(receipt),
                Settled::Refused(e) => Err(e),
            };
            if let Some(slot) = &take.idem {
                answered.insert(slot.key.as_str(), (slot, result.clone()));
            }
            results.push(result);
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
