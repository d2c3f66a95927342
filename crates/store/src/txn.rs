//! The optimistic-transaction engine: WATCH, read, decide, MULTI…EXEC, retry on conflict.
//!
//! An operation implements [`Optimistic`]: the keys to watch, the read, and a pure decision.
//! [`run`] owns everything else, and the rules WATCH needs to be safe live here, once (the
//! facts behind them, with sources, are in docs/DESIGN.md, sections 1 and 3):
//!
//! - a **dedicated** pooled connection per attempt, never the shared multiplexed one, so no
//!   other task's EXEC/UNWATCH can clear our WATCH;
//! - **UNWATCH** on every path that does not reach EXEC; a connection that failed or was
//!   abandoned mid-transaction (timeout, error, dropped future) is closed, not pooled. So
//!   the pool lends busy connections without a check of its own (`store::pool`);
//! - **every EXEC reply element is checked**: nil is a conflict, an error element is an
//!   error (Redis has no rollback), never a success;
//! - only conflicts are retried, with [`crate::retry::RetryPolicy`]'s backoff; business rejections never.

use crate::Store;
use crate::error::{Cause, StoreError};
use backon::Retryable;
use redis::{Cmd, Pipeline, Value};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use tokio::time::Instant;

/// What a decision commits: the writes for MULTI…EXEC and the answer they stand for.
#[derive(Debug)]
pub struct Plan<T> {
    /// Commands queued between MULTI and EXEC.
    pub writes: Vec<Cmd>,
    /// What the caller gets if EXEC commits.
    pub output: T,
}

/// One operation, as the engine sees it.
pub trait Optimistic: Sync {
    /// What the read decodes into (from the array of the read commands' replies).
    type Snapshot: redis::FromRedisValue;
    /// What a committed transaction yields.
    type Output;
    /// A business refusal (e.g. out of stock): final, never retried.
    type Rejection;

    /// Keys whose change between read and EXEC must abort the commit.
    fn watch_keys(&self) -> Vec<String>;

    /// Appends the read commands; they run right after WATCH in the same round trip.
    fn read(&self, pipe: &mut Pipeline);

    /// Reads that only some snapshots call for (a drop's clock and its customers' counts),
    /// made in a second round trip under the same WATCH, and only when this appends a
    /// command: an operation whose read already says everything costs nothing more.
    fn read_more(&self, _snapshot: &Self::Snapshot, _pipe: &mut Pipeline) {}

    /// Hands the second read's replies (one per command [`Self::read_more`] appended) to the
    /// snapshot, before [`Self::decide`] sees it.
    fn add_more(&self, _snapshot: &mut Self::Snapshot, _more: Vec<Value>) {}

    /// Decides from the snapshot alone. `attempt` is 1-based, for answers that report it.
    fn decide(&self, snapshot: Self::Snapshot, attempt: u32) -> Result<Plan<Self::Output>, Self::Rejection>;

    /// Calls this transaction decides for: each attempt counts once per caller, as each
    /// caller's own effort does (a group commit carries many).
    fn callers(&self) -> u32 {
        1
    }
}

/// A committed transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed<T> {
    /// The decision's output.
    pub output: T,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// Attempts aborted by a conflicting write.
    pub conflicts: u32,
}

/// Why a transaction did not commit.
#[derive(Debug, thiserror::Error)]
pub enum TxError<R> {
    /// The decision refused; nothing was written.
    #[error("rejected")]
    Rejected {
        /// The refusal.
        rejection: R,
        /// Attempts made.
        attempts: u32,
        /// Conflicts seen before the refusal.
        conflicts: u32,
    },
    /// Every attempt conflicted until the policy, or the store's retry budget, gave up.
    #[error("gave up after {attempts} attempts")]
    Contention {
        /// Whether the retry budget (not the call's own policy) stopped the retries.
        throttled: bool,
        /// Attempts made.
        attempts: u32,
    },
    /// Redis failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Outcome of one attempt, before the retry loop looks at it.
enum AttemptError<R> {
    Conflict,
    Rejected(R),
    Store(StoreError),
}

/// Runs `op` to a commit, a rejection, contention, or a Redis error, all within the store's
/// response timeout.
pub async fn run<O: Optimistic>(store: &Store, op: &O) -> Result<Committed<O::Output>, TxError<O::Rejection>> {
    run_until(store, op, store.deadline()).await
}

/// [`run`], bounded by an explicit deadline (a group commit uses its earliest caller's).
pub async fn run_until<O: Optimistic>(
    store: &Store,
    op: &O,
    deadline: Instant,
) -> Result<Committed<O::Output>, TxError<O::Rejection>> {
    let attempts = AtomicU32::new(0);
    let conflicts = AtomicU32::new(0);
    let throttled = AtomicBool::new(false);
    store.first_attempt();
    let delays = Budgeted {
        delays: store.config().retry.backoff(),
        store,
        throttled: &throttled,
    };
    let result = (|| async {
        let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
        attempt_once(store, op, attempt, deadline).await
    })
    .retry(delays)
    .sleep(tokio::time::sleep)
    // A moved slot is retried like a conflict (from WATCH, on the new owner), but is not one.
    .when(|e| matches!(e, AttemptError::Conflict | AttemptError::Store(StoreError::Moved(_))))
    .notify(|e, _| {
        if matches!(e, AttemptError::Conflict) {
            conflicts.fetch_add(1, Ordering::Relaxed);
        }
    })
    .await;
    let attempts = attempts.into_inner();
    let conflicts = conflicts.into_inner();
    match result {
        Ok(output) => Ok(Committed {
            output,
            attempts,
            conflicts,
        }),
        Err(AttemptError::Rejected(rejection)) => Err(TxError::Rejected {
            rejection,
            attempts,
            conflicts,
        }),
        Err(AttemptError::Conflict) => Err(TxError::Contention {
            attempts,
            throttled: throttled.into_inner(),
        }),
        Err(AttemptError::Store(e)) => Err(TxError::Store(e)),
    }
}

/// The policy's delays, each retry also paid for from the store's retry budget: a retry the
/// policy allows but the budget does not is not made, and the call ends as throttled.
struct Budgeted<'a> {
    delays: crate::retry::JitteredBackoff,
    store: &'a Store,
    throttled: &'a AtomicBool,
}

impl Iterator for Budgeted<'_> {
    type Item = std::time::Duration;

    fn next(&mut self) -> Option<Self::Item> {
        let delay = self.delays.next()?;
        if self.store.may_retry() {
            Some(delay)
        } else {
            self.throttled.store(true, Ordering::Relaxed);
            None
        }
    }
}

async fn attempt_once<O: Optimistic>(
    store: &Store,
    op: &O,
    attempt: u32,
    deadline: Instant,
) -> Result<O::Output, AttemptError<O::Rejection>> {
    let watch = op.watch_keys();
    let slot = watch.first().map_or(0, |key| crate::keys::slot_of(key));
    let attempted = async {
        // A connection that died in the pool (Redis restarted) fails here, before anything
        // is written: it is closed, and the next one borrowed. The pool bounds how many.
        let mut stale = 0;
        loop {
            let mut conn = Dedicated::checkout(store, slot, deadline).await?;
            let reused = conn.conn.as_ref().is_some_and(crate::reused);
            match conn.watch_and_read(&watch, op).await {
                Err(StoreError::Unavailable(_)) if reused && stale < store.config().pool_size => stale += 1,
                read => return Ok::<_, StoreError>((conn, read?)),
            }
        }
    };
    let (mut conn, mut snapshot) = match attempted.await {
        Ok(ready) => ready,
        Err(e) => return Err(moved(store, e).await),
    };
    let mut more = redis::pipe();
    op.read_more(&snapshot, &mut more);
    if !more.is_empty() {
        match conn.read(&more).await {
            Ok(replies) => op.add_more(&mut snapshot, replies),
            Err(e) => return Err(moved(store, e).await),
        }
    }
    let answered = |conflicted| store.metrics().attempt_answered(op.callers(), conflicted);
    match op.decide(snapshot, attempt) {
        Err(rejection) => {
            conn.unwatch().await.map_err(AttemptError::Store)?;
            answered(false);
            Err(AttemptError::Rejected(rejection))
        }
        Ok(Plan { writes, output }) => match conn.exec(writes).await {
            Err(e) => Err(moved(store, e).await),
            Ok(committed) => match committed {
                true => {
                    answered(false);
                    Ok(output)
                }
                false => {
                    answered(true);
                    Err(AttemptError::Conflict)
                }
            },
        },
    }
}

/// An attempt's Redis error; when the slot moved, or its master stopped answering (on a
/// cluster a replica may be taking over), the slot map is read again first, so the next
/// attempt goes to the new owner.
async fn moved<R>(store: &Store, e: StoreError) -> AttemptError<R> {
    if matches!(e, StoreError::Moved(_)) {
        store.slots_moved().await;
    }
    store.master_lost(&e).await;
    AttemptError::Store(e)
}

/// A pooled connection held for one attempt. While `watching`, dropping it (error,
/// timeout, cancelled future) closes the socket instead of pooling it: closing is the one
/// way to clear a WATCH that cannot fail.
struct Dedicated {
    conn: Option<crate::Pooled>,
    watching: bool,
    deadline: Instant,
}

impl Dedicated {
    async fn checkout(store: &Store, slot: u16, deadline: Instant) -> Result<Self, StoreError> {
        let asked = Instant::now();
        let conn = Store::bounded(deadline, store.dedicated(slot)).await?;
        store.metrics().pool_wait(asked.elapsed());
        Ok(Self {
            conn: Some(conn),
            watching: false,
            deadline,
        })
    }

    fn conn(&mut self) -> &mut redis::aio::MultiplexedConnection {
        self.conn.as_mut().expect("connection present until drop")
    }

    /// WATCH and the reads in one round trip; WATCH runs first, so the reads see a state
    /// that EXEC will only commit against if no watched key changes. `UNWATCH` opens it:
    /// the pool sends nothing between borrowers, so this is the guard against a WATCH left
    /// by anything but the engine, at no extra round trip.
    async fn watch_and_read<O: Optimistic>(&mut self, watch: &[String], op: &O) -> Result<O::Snapshot, StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("UNWATCH").ignore().cmd("WATCH").arg(watch).ignore();
        op.read(&mut pipe);
        self.watching = true;
        let deadline = self.deadline;
        Store::bounded(deadline, pipe.query_async::<O::Snapshot>(self.conn())).await
    }

    /// A read after [`Self::watch_and_read`], under the same WATCH.
    async fn read(&mut self, pipe: &Pipeline) -> Result<Vec<Value>, StoreError> {
        let deadline = self.deadline;
        Store::bounded(deadline, pipe.query_async(self.conn())).await
    }

    async fn unwatch(&mut self) -> Result<(), StoreError> {
        let deadline = self.deadline;
        let _: () = Store::bounded(deadline, redis::cmd("UNWATCH").query_async(self.conn())).await?;
        self.watching = false;
        Ok(())
    }

    /// MULTI, the writes, EXEC in one round trip. `Ok(true)` committed, `Ok(false)` aborted
    /// by a watched key's change. Every reply is checked, so a queue-time error (OOM,
    /// EXECABORT) or a runtime error inside EXEC (WRONGTYPE) is an error, never a commit.
    async fn exec(&mut self, writes: Vec<Cmd>) -> Result<bool, StoreError> {
        let mut pipe = redis::pipe();
        pipe.ignore_errors().cmd("MULTI");
        for cmd in writes {
            pipe.add_command(cmd);
        }
        pipe.cmd("EXEC");
        let deadline = self.deadline;
        let mut replies: Vec<Value> = Store::bounded(deadline, pipe.query_async(self.conn())).await?;
        // EXEC, even an aborted or refused one, clears WATCH on the server.
        self.watching = false;
        let exec_reply = replies
            .pop()
            .ok_or_else(|| StoreError::Protocol("no EXEC reply".into()))?;
        if let Some(Value::ServerError(e)) = replies.iter().find(|v| matches!(v, Value::ServerError(_))) {
            let e = redis::RedisError::from(e.clone());
            // A queued write refused (the slot moved mid-attempt: EXEC then aborts whole).
            return Err(match StoreError::from(e) {
                kept @ (StoreError::OutOfMemory(_) | StoreError::Moved(_)) => kept,
                other => StoreError::ExecFailed(format!("refused at queue time: {other}").into()),
            });
        }
        match exec_reply {
            Value::Nil => Ok(false),
            Value::Array(results) => {
                for (i, r) in results.iter().enumerate() {
                    if let Value::ServerError(e) = r {
                        return Err(StoreError::ExecFailed(Cause::InExec {
                            index: i + 1,
                            of: results.len(),
                            source: e.clone().into(),
                        }));
                    }
                }
                Ok(true)
            }
            Value::ServerError(e) => Err(match StoreError::from(redis::RedisError::from(e)) {
                oom @ StoreError::OutOfMemory(_) => oom,
                other => StoreError::ExecFailed(other.to_string().into()),
            }),
            other => Err(StoreError::Protocol(format!("EXEC replied {other:?}").into())),
        }
    }
}

impl Drop for Dedicated {
    fn drop(&mut self) {
        if self.watching
            && let Some(conn) = self.conn.take()
        {
            drop(crate::Pooled::take(conn));
        }
    }
}
