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
//! Apart from how long it took, the output is the same on every run.

use crate::domain::{Sku, Strategy};
use crate::keys::Keys;
use redis::Value;
use redis::aio::MultiplexedConnection;
use serde::Serialize;
use std::time::Instant;

/// One command a buyer sent, and what Redis answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// One strategy's replay.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// `broken` or `watch`.
    pub strategy: &'static str,
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

/// Replays the lost update on `strategy` (`broken` or `watch`) with `buyers` buyers and
/// `stock` units, on keys under `prefix` (deleted before and after).
pub async fn replay(
    redis_url: &str,
    prefix: &str,
    strategy: Strategy,
    buyers: usize,
    stock: i64,
) -> Result<Replay, String> {
    let keys = Keys::new(prefix)?;
    let sku = Sku::parse("ps5").expect("a valid sku");
    let key = keys.stock(&sku);
    let client = redis::Client::open(redis_url).map_err(|e| e.to_string())?;
    let mut admin = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let reset = redis::pipe()
        .del(&key)
        .hset_multiple(
            &key,
            &[("available", stock), ("reserved", 0), ("sold", 0), ("received", stock)],
        )
        .query_async::<()>(&mut admin)
        .await;
    reset.map_err(|e| e.to_string())?;
    let mut conns = Vec::with_capacity(buyers);
    for _ in 0..buyers {
        conns.push(
            client
                .get_multiplexed_async_connection()
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let mut timeline = Timeline {
        conns,
        key: key.clone(),
        steps: Vec::new(),
    };
    let started = Instant::now();
    let orders = match strategy {
        Strategy::Watch => timeline.watch(buyers).await?,
        _ => timeline.broken(buyers).await?,
    };
    let elapsed_us = started.elapsed().as_micros() as u64;
    let (available, sold): (i64, i64) = redis::cmd("HMGET")
        .arg(&key)
        .arg("available")
        .arg("sold")
        .query_async::<(i64, i64)>(&mut admin)
        .await
        .map_err(|e| e.to_string())?;
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut admin)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Replay {
        strategy: if strategy == Strategy::Watch { "watch" } else { "broken" },
        steps: timeline.steps,
        orders,
        final_stock: available,
        sold,
        oversold: (sold - stock).max(0),
        elapsed_us,
    })
}

fn buyer_name(i: usize) -> String {
    char::from(b'A' + (i % 26) as u8).to_string()
}

struct Timeline {
    conns: Vec<MultiplexedConnection>,
    key: String,
    steps: Vec<Step>,
}

impl Timeline {
    /// Sends one command on buyer `i`'s connection and records it.
    async fn send(&mut self, i: usize, args: &[&str]) -> Result<Value, String> {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let reply: Value = cmd
            .query_async(&mut self.conns[i])
            .await
            .or_else(|e| {
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ExecAbort) {
                    Ok(Value::Nil)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| e.to_string())?;
        self.steps.push(Step {
            n: self.steps.len() + 1,
            buyer: buyer_name(i),
            command: args.join(" "),
            reply: show(&reply),
            note: None,
        });
        Ok(reply)
    }

    fn note(&mut self, text: impl Into<String>) {
        if let Some(last) = self.steps.last_mut() {
            last.note = Some(text.into());
        }
    }

    /// HGET available, as a number.
    async fn read(&mut self, i: usize) -> Result<i64, String> {
        let key = self.key.clone();
        match self.send(i, &["HGET", &key, "available"]).await? {
            Value::BulkString(b) => String::from_utf8_lossy(&b).parse().map_err(|_| "not a number".into()),
            other => Err(format!("HGET replied {other:?}")),
        }
    }

    /// MULTI, the two HINCRBYs, EXEC: `true` when EXEC committed.
    async fn write(&mut self, i: usize) -> Result<bool, String> {
        let key = self.key.clone();
        self.send(i, &["MULTI"]).await?;
        self.send(i, &["HINCRBY", &key, "available", "-1"]).await?;
        self.send(i, &["HINCRBY", &key, "sold", "1"]).await?;
        Ok(self.send(i, &["EXEC"]).await? != Value::Nil)
    }

    /// Everyone reads, then everyone writes what they decided.
    async fn broken(&mut self, buyers: usize) -> Result<usize, String> {
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
                self.note("committed, on a read that is stale by now");
            }
        }
        Ok(orders)
    }

    /// Everyone WATCHes and reads, then writes in turn; the aborted ones retry.
    async fn watch(&mut self, buyers: usize) -> Result<usize, String> {
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
