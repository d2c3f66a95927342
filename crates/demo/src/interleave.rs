//! The lost update, replayed step by step: `stockwatch demo race --interleave`.
//!
//! Buyers A, B, … each have their own connection. The replay forces the fatal order (every
//! buyer reads before anyone writes) by running each buyer's commands one at a time, in an
//! order fixed in advance, and records every command and Redis's answer. The commands are
//! the ones the library's paths send, on the library's key layout:
//!
//! - `broken`: `HGET` the stock, decide, then `MULTI` / `HINCRBY` / `EXEC`. MULTI makes the
//!   writes atomic, but the decision was taken on a read that is stale by then.
//! - `watch`: the same, after `WATCH`. The first EXEC commits; every later one returns nil
//!   (aborted) because the stock changed after that buyer's WATCH. The buyer retries, reads
//!   0, and is refused.
//!
//! Apart from how long it took, the output is the same on every run. Each step that makes
//! the lesson is marked: the read that is stale by the time its buyer writes, the write
//! committed on it (`broken`), and the EXEC that WATCH aborted (`watch`). The dashboard's
//! replay panel steps through the same JSON (`POST /v1/demo/replay`).

use crate::convert;
use crate::domain::{Sku, Strategy};
use crate::error::StoreError;
use crate::keys::Keys;
use redis::Value;
use redis::aio::MultiplexedConnection;
use serde::Serialize;
use std::time::Instant;

/// What a step shows, when it is one of the steps the lesson turns on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// A read that another buyer's commit made stale before this buyer wrote.
    StaleRead,
    /// An EXEC that committed a decision taken on a stale read: the lost update.
    StaleWrite,
    /// An EXEC that WATCH aborted (`nil`), because the stock changed after this buyer's WATCH.
    Aborted,
}

/// One command a buyer sent, and what Redis answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Step {
    /// 1-based position in the timeline.
    pub n: usize,
    /// `A`, `B`, …
    pub buyer: String,
    /// The command as sent, e.g. `HGET demo:sku:{ps5} available`.
    pub command: String,
    /// Redis's answer, e.g. `"1"`, `QUEUED`, `(nil)`.
    pub reply: String,
    /// What the buyer concluded from it, when it concluded something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Set on the steps the lesson turns on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<Mark>,
}

/// One strategy's replay.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Replay {
    /// `broken` or `watch`.
    pub strategy: &'static str,
    /// Buyers, each on its own connection.
    pub buyers: usize,
    /// Units in stock before the first step.
    pub stock: i64,
    /// Every command, in the order Redis received them.
    pub steps: Vec<Step>,
    /// Buyers that got an order.
    pub orders: usize,
    /// `available` at the end.
    pub final_stock: i64,
    /// `sold` at the end.
    pub sold: i64,
    /// Orders beyond the stock there was.
    pub oversold: i64,
    /// Wall time (the only part that differs between runs).
    pub elapsed_us: u64,
}

/// Most buyers a replay takes (they are named A to Z).
pub const MAX_REPLAY_BUYERS: usize = 26;

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The scratch prefix is not a valid key prefix.
    #[error(transparent)]
    Prefix(#[from] crate::keys::InvalidPrefix),
    /// Redis failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<redis::RedisError> for ReplayError {
    fn from(e: redis::RedisError) -> Self {
        Self::Store(e.into())
    }
}

/// Replays the lost update on `strategy` (`broken` or `watch`) with `buyers` buyers and
/// `stock` units, on keys under `prefix` (deleted before and after).
pub async fn replay(
    store: &crate::store::Store,
    prefix: &str,
    strategy: Strategy,
    buyers: usize,
    stock: i64,
) -> Result<Replay, ReplayError> {
    let keys = Keys::new(prefix)?;
    let sku = Sku::parse("ps5").expect("a valid sku");
    let key = keys.stock(&sku);
    let buyers = buyers.clamp(1, MAX_REPLAY_BUYERS);
    // Each buyer gets a connection of its own, to the server that owns the SKU's slot.
    let client = store.client_for(keys.slot_of_sku(&sku)).await?;
    // Bounded: the server serves replays, and a Redis that stopped answering must not hold
    // a request forever.
    let timeouts = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_secs(2)))
        .set_response_timeout(Some(std::time::Duration::from_secs(2)));
    let mut admin = client.get_multiplexed_async_connection_with_config(&timeouts).await?;
    let reset = redis::pipe()
        .del(&key)
        .hset_multiple(
            &key,
            &[("available", stock), ("reserved", 0), ("sold", 0), ("received", stock)],
        )
        .query_async::<()>(&mut admin)
        .await;
    reset.map_err(StoreError::from)?;
    let mut conns = Vec::with_capacity(buyers);
    for _ in 0..buyers {
        conns.push(
            client
                .get_multiplexed_async_connection_with_config(&timeouts)
                .await
                .map_err(StoreError::from)?,
        );
    }
    let mut timeline = Timeline {
        conns,
        key: key.clone(),
        steps: Vec::new(),
        commits: 0,
        read_at: vec![(0, 0); buyers],
    };
    let started = Instant::now();
    let orders = match strategy {
        Strategy::Watch => timeline.watch(buyers).await?,
        _ => timeline.broken(buyers).await?,
    };
    let elapsed_us = convert::micros(started.elapsed());
    let (available, sold): (i64, i64) = redis::cmd("HMGET")
        .arg(&key)
        .arg("available")
        .arg("sold")
        .query_async::<(i64, i64)>(&mut admin)
        .await?;
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut admin).await?;
    Ok(Replay {
        strategy: if strategy == Strategy::Watch { "watch" } else { "broken" },
        buyers,
        stock,
        steps: timeline.steps,
        orders,
        final_stock: available,
        sold,
        oversold: (sold - stock).max(0),
        elapsed_us,
    })
}

fn buyer_name(i: usize) -> String {
    char::from(b'A' + u8::try_from(i % 26).unwrap_or(0)).to_string()
}

struct Timeline {
    conns: Vec<MultiplexedConnection>,
    key: String,
    steps: Vec<Step>,
    /// Commits so far: a read taken before a later commit is stale.
    commits: usize,
    /// Per buyer: the index of its last read step, and `commits` when it read.
    read_at: Vec<(usize, usize)>,
}

impl Timeline {
    /// Sends one command on buyer `i`'s connection and records it.
    async fn send(&mut self, i: usize, args: &[&str]) -> Result<Value, StoreError> {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let reply: Value = cmd.query_async(&mut self.conns[i]).await.or_else(|e| {
            if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ExecAbort) {
                Ok(Value::Nil)
            } else {
                Err(e)
            }
        })?;
        self.steps.push(Step {
            n: self.steps.len() + 1,
            buyer: buyer_name(i),
            command: args.join(" "),
            reply: show(&reply),
            note: None,
            mark: None,
        });
        Ok(reply)
    }

    fn note(&mut self, text: impl Into<String>) {
        if let Some(last) = self.steps.last_mut() {
            last.note = Some(text.into());
        }
    }

    fn mark(&mut self, step: usize, mark: Mark) {
        self.steps[step].mark = Some(mark);
    }

    /// HGET available, as a number.
    async fn read(&mut self, i: usize) -> Result<i64, StoreError> {
        let key = self.key.clone();
        let reply = self.send(i, &["HGET", &key, "available"]).await?;
        self.read_at[i] = (self.steps.len() - 1, self.commits);
        match reply {
            Value::BulkString(b) => String::from_utf8_lossy(&b)
                .parse()
                .map_err(|_| StoreError::Protocol("HGET available: not a number".into())),
            other => Err(StoreError::Protocol(format!("HGET replied {other:?}").into())),
        }
    }

    /// MULTI, the two HINCRBYs, EXEC: `true` when EXEC committed. Marks the lesson: a
    /// read made stale by a commit since, and what its EXEC did with it.
    async fn write(&mut self, i: usize) -> Result<bool, StoreError> {
        let key = self.key.clone();
        self.send(i, &["MULTI"]).await?;
        self.send(i, &["HINCRBY", &key, "available", "-1"]).await?;
        self.send(i, &["HINCRBY", &key, "sold", "1"]).await?;
        let committed = self.send(i, &["EXEC"]).await? != Value::Nil;
        let exec = self.steps.len() - 1;
        let (read, seen) = self.read_at[i];
        if seen < self.commits {
            self.mark(read, Mark::StaleRead);
            self.mark(exec, if committed { Mark::StaleWrite } else { Mark::Aborted });
        }
        if committed {
            self.commits += 1;
        }
        Ok(committed)
    }

    /// Everyone reads, then everyone writes what they decided.
    async fn broken(&mut self, buyers: usize) -> Result<usize, StoreError> {
        let mut decided = Vec::with_capacity(buyers);
        for i in 0..buyers {
            let available = self.read(i).await?;
            decided.push(available >= 1);
            self.note(if available >= 1 {
                format!("sees {available} left: buys")
            } else {
                "sees none left: refused".into()
            });
        }
        let mut orders = 0;
        for (i, buys) in decided.into_iter().enumerate() {
            if buys && self.write(i).await? {
                orders += 1;
                let stale = self.steps.last().and_then(|s| s.mark) == Some(Mark::StaleWrite);
                self.note(if stale {
                    "committed, on a read that is stale by now: the lost update"
                } else {
                    "committed"
                });
            }
        }
        Ok(orders)
    }

    /// Everyone WATCHes and reads, then writes in turn; the aborted ones retry.
    async fn watch(&mut self, buyers: usize) -> Result<usize, StoreError> {
        let key = self.key.clone();
        let mut decided = Vec::with_capacity(buyers);
        for i in 0..buyers {
            self.send(i, &["WATCH", &key]).await?;
            let available = self.read(i).await?;
            decided.push(available >= 1);
            self.note(format!("sees {available} left"));
        }
        let mut orders = 0;
        let mut retry = Vec::new();
        for (i, buys) in decided.into_iter().enumerate() {
            if !buys {
                self.send(i, &["UNWATCH"]).await?;
                self.note("refused: 409 insufficient_stock");
            } else if self.write(i).await? {
                orders += 1;
                self.note("committed");
            } else {
                self.note("aborted: the stock changed after this buyer's WATCH");
                retry.push(i);
            }
        }
        for i in retry {
            self.send(i, &["WATCH", &key]).await?;
            self.note("attempt 2");
            let available = self.read(i).await?;
            if available >= 1 {
                // Never reached with one unit; kept so that larger stocks replay correctly.
                if self.write(i).await? {
                    orders += 1;
                    self.note("committed");
                }
            } else {
                self.note(format!("sees {available} left"));
                self.send(i, &["UNWATCH"]).await?;
                self.note("refused: 409 insufficient_stock");
            }
        }
        Ok(orders)
    }
}

/// A reply the way redis-cli shows it.
fn show(v: &Value) -> String {
    match v {
        Value::Nil => "(nil)".into(),
        Value::Int(i) => format!("(integer) {i}"),
        Value::BulkString(b) => format!("\"{}\"", String::from_utf8_lossy(b)),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", parts.join(", "))
        }
        other => format!("{other:?}"),
    }
}
