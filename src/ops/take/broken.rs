//! A take as check-then-act, the teaching strategy: the same read and decision as `watch`,
//! with the WATCH left out, so concurrent buyers decide on stale levels and oversell.
//!
//! What `broken` teaches is the stock check, not the Idempotency-Key: the key's promise
//! (one effect, one answer) holds here too. Repeats of one key take turns on a lock beside
//! the stored answer, so each sees what the one before it stored.

use super::Take;
use super::decide::Settled;
use super::receipt::{Outcome, Receipt};
use crate::error::{Error, StoreError};
use crate::ops::level::Level;
use crate::outcome::Effort;
use crate::store::Store;
use crate::txn::Optimistic;
use redis::Value;

/// Deletes the lock only if it is still the one this take set (it may have lapsed and been
/// taken by a repeat).
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

impl Take {
    /// [`Self::check_then_act`]; with an Idempotency-Key, one repeat of the key at a time.
    pub(super) async fn run_broken(&self) -> Result<Receipt, Error> {
        let Some(answer) = &self.idem else {
            return self.check_then_act().await;
        };
        let lock = self.store.keys().idempotency_lock(&answer.key);
        let token = format!("{:032x}", rand::random::<u128>());
        let mut conn = self.store.shared();
        loop {
            // The lock lapses with the caller's deadline, so a crashed holder blocks nobody
            // for long; its effect and answer were written together, or not at all.
            let left = self.deadline.saturating_duration_since(tokio::time::Instant::now());
            let ttl_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut set = redis::cmd("SET");
            set.arg(&lock).arg(&token).arg("NX").arg("PX").arg(ttl_ms);
            let taken: Option<String> = Store::bounded(self.deadline, set.query_async(&mut conn)).await?;
            if taken.is_some() {
                break;
            }
            if left.is_zero() {
                return Err(Error::Contention {
                    attempts: 1,
                    throttled: false,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(1..5))).await;
        }
        let result = self.check_then_act().await;
        let release = redis::Script::new(RELEASE);
        let mut call = release.key(&lock);
        call.arg(&token);
        if let Err(e) = Store::bounded(self.deadline, call.invoke_async::<i64>(&mut conn)).await {
            tracing::debug!(error = %e, "idempotency lock left to lapse");
        }
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
        let snapshot: Vec<Value> = Store::bounded(deadline, read.query_async(&mut conn)).await?;
        // Think times vary in real code; a fixed pause would let buyers run in lockstep
        // rounds that happen to land exactly on zero and hide the race.
        let think = self
            .store
            .config()
            .broken_think_time
            .mul_f64(rand::random_range(0.75..1.25));
        tokio::time::sleep(think).await;
        let (levels, recalled) = self.split(snapshot)?;
        let effort = Effort {
            attempts: 1,
            conflicts: 0,
        };
        let levels: Vec<Option<&Level>> = levels.iter().map(Option::as_ref).collect();
        match self.settle(&levels, recalled, effort) {
            Settled::Commit {
                writes,
                mut receipt,
                positions,
            } => {
                let mut act = redis::pipe();
                act.atomic();
                for cmd in writes {
                    act.add_command(cmd);
                }
                let replies: Vec<Value> = Store::bounded(deadline, act.query_async(&mut conn)).await?;
                self.store.metrics().attempt_answered(1, false);
                // The answer says what Redis holds after the write, not what the stale read
                // predicted: that is how an oversold level below zero reaches the client (and
                // the race's timeline). A stored idempotent receipt keeps the prediction.
                if let Outcome::Taken(left) = &mut receipt.outcome {
                    for (level, at) in left.iter_mut().zip(positions) {
                        if let Some(v) = replies.get(at) {
                            *level = redis::from_redis_value(v.clone()).map_err(StoreError::from)?;
                        }
                    }
                }
                Ok(receipt)
            }
            Settled::Replay(receipt) => {
                self.store.metrics().attempt_answered(1, false);
                Ok(receipt)
            }
            Settled::Refused(e) => {
                self.store.metrics().attempt_answered(1, false);
                Err(e)
            }
        }
    }
}
