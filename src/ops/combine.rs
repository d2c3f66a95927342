//! Group commit for hot SKUs.
//!
//! On one hot key, N optimistic transactions from one process mostly abort each other: about
//! one in N commits per round. So the process does not race itself: concurrent single-line
//! takes of the same SKU queue behind one leader task, which decides them in arrival order
//! against the level it read and commits the accepted ones in one WATCH/MULTI/EXEC. Each
//! buyer still gets its own answer and its own order, and a buyer is still all-or-nothing.
//! WATCH still guards against every other writer (other processes, admin calls, carts).

use super::Effort;
use super::take::{Take, Taken};
use crate::error::{Error, StoreError};
use crate::txn::{self, Optimistic, Plan, TxError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Most takes one transaction commits; bounds the size of a MULTI.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Taken, Error>>;

/// The queues of waiting takes, one per SKU. A queue exists exactly while its leader runs.
#[derive(Default)]
pub(crate) struct Combiner {
    queues: Mutex<HashMap<String, Vec<(Take, Reply)>>>,
}

impl Combiner {
    /// Queues `take` (a single-line take) and waits for its batch to finish. Starts a leader
    /// for its SKU when none is running.
    pub async fn submit(self: &Arc<Self>, take: Take) -> Result<Taken, Error> {
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
async fn commit(takes: &[Take]) -> Vec<Result<Taken, Error>> {
    let store = &takes[0].store;
    let deadline = takes.iter().map(|t| t.deadline).min().expect("a batch is never empty");
    let with_effort = |levels: Vec<Result<i64, Error>>, effort: Effort| {
        levels
            .into_iter()
            .map(|r| {
                r.map(|left| Taken {
                    remaining: vec![left],
                    effort,
                })
            })
            .collect()
    };
    match txn::run_until(store, &Batch { takes }, deadline).await {
        Ok(done) => with_effort(
            done.output,
            Effort {
                attempts: done.attempts,
                conflicts: done.conflicts,
            },
        ),
        Err(TxError::Rejected {
            rejection,
            attempts,
            conflicts,
        }) => with_effort(rejection, Effort { attempts, conflicts }),
        Err(TxError::Contention { attempts }) => takes.iter().map(|_| Err(Error::Contention { attempts })).collect(),
        Err(TxError::Store(e)) => takes.iter().map(|_| Err(Error::Store(e.clone()))).collect(),
    }
}

/// Many single-line takes of one SKU, decided in order against one read.
struct Batch<'a> {
    takes: &'a [Take],
}

impl Optimistic for Batch<'_> {
    type Snapshot = Vec<Option<i64>>;
    /// `available` after each accepted take, or its refusal.
    type Output = Vec<Result<i64, Error>>;
    /// Every take refused: nothing to commit.
    type Rejection = Vec<Result<i64, Error>>;

    fn watch_keys(&self) -> Vec<String> {
        self.takes[0].watch_keys()
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        self.takes[0].read(pipe);
    }

    fn decide(&self, snapshot: Vec<Option<i64>>, _attempt: u32) -> Result<Plan<Self::Output>, Self::Rejection> {
        let mut level = snapshot;
        let mut writes = Vec::new();
        let mut results = Vec::with_capacity(self.takes.len());
        for take in self.takes {
            match take.check(&level) {
                Ok(remaining) => {
                    writes.extend(take.writes());
                    level = vec![Some(remaining[0])];
                    results.push(Ok(remaining[0]));
                }
                Err(refusal) => results.push(Err(refusal)),
            }
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
