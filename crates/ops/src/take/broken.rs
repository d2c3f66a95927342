//! A take as check-then-act, the teaching strategy: the same read and decision as `watch`,
//! with the WATCH left out, so concurrent buyers decide on stale levels and oversell.
//!
//! What `broken` teaches is the stock check, not the Idempotency-Key: the key's promise
//! (one effect, one answer) holds here too. Repeats of one key take turns on a lock beside
//! the stored answer, so each sees what the one before it stored.

use super::Take;
use super::decide::Verdict;
use super::receipt::{Outcome, Receipt};
use crate::error::{Error, StoreError};
use crate::idempotency::Turn;
use crate::level::Level;
use crate::outcome::Effort;
use crate::store::Store;
use crate::txn::Optimistic;
use redis::Value;

impl Take {
    /// [`Self::check_then_act`]; with an Idempotency-Key, one repeat of the key at a time.
    pub(super) async fn run_broken(&self) -> Result<Receipt, Error> {
        let Some(answer) = &self.idem else {
            return self.check_then_act().await;
        };
        let turn = Turn::take(&self.store, &answer.key, self.deadline).await?;
        let result = self.check_then_act().await;
        turn.end(&self.store).await;
        result
    }

    /// Check-then-act, deliberately: read, pause, then write what was decided from a read
    /// that other buyers have already made stale. The same read and decision as `watch`;
    /// the only thing missing is the WATCH.
    async fn check_then_act(&self) -> Result<Receipt, Error> {
        let deadline = self.deadline;
        let mut conn = self.store.shared();
        let mut read = redis::pipe();
        self.read(&mut read);
        let mut snapshot: Vec<Value> = Store::bounded(deadline, read.query_async(&mut conn)).await?;
        // A drop's clock and counts, read as naively as the level: a customer's requests
        // racing each other all see the count from before the others, and pass its limit.
        let mut more = redis::pipe();
        self.read_more(&snapshot, &mut more);
        if !more.is_empty() {
            let more: Vec<Value> = Store::bounded(deadline, more.query_async(&mut conn)).await?;
            snapshot.extend(more);
        }
        // Think times vary in real code; a fixed pause would let buyers run in lockstep
        // rounds that happen to land exactly on zero and hide the race.
        let think = self
            .store
            .config()
            .broken_think_time
            .mul_f64(rand::random_range(0.75..1.25));
        tokio::time::sleep(think).await;
        let (levels, prior, mut gate) = self.split(snapshot)?;
        let effort = Effort {
            attempts: 1,
            conflicts: 0,
        };
        let levels: Vec<Option<&Level>> = levels.iter().map(Option::as_ref).collect();
        let mut tail = super::tail::Tail::default();
        match self.verdict(&levels, prior, effort, &mut tail, &mut gate) {
            Verdict::Commit { writes, mut receipt } => {
                let mut act = redis::pipe();
                act.atomic();
                for cmd in writes.into_iter().chain(tail.cmds(&self.store)) {
                    act.add_command(cmd);
                }
                // Then each line's level as the writes leave it.
                let read_back = act.len();
                if let Outcome::Taken(_) = &receipt.outcome {
                    for key in self.stock_keys() {
                        act.cmd("HGET").arg(key).arg("available");
                    }
                }
                let replies: Vec<Value> = Store::bounded(deadline, act.query_async(&mut conn)).await?;
                self.store.metrics().attempt_answered(1, false);
                // The answer says what Redis holds after the write, not what the stale read
                // predicted: that is how an oversold level below zero reaches the client (and
                // the race's timeline). A stored idempotent receipt keeps the prediction.
                if let Outcome::Taken(left) = &mut receipt.outcome {
                    for (i, level) in left.iter_mut().enumerate() {
                        if let Some(v) = replies.get(read_back + i) {
                            *level = redis::from_redis_value(v.clone()).map_err(StoreError::from)?;
                        }
                    }
                }
                Ok(receipt)
            }
            Verdict::Answer(receipt) => {
                self.store.metrics().attempt_answered(1, false);
                Ok(receipt)
            }
            Verdict::Failed(e) => {
                self.store.metrics().attempt_answered(1, false);
                Err(e)
            }
        }
    }
}
