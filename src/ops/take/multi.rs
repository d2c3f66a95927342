//! A take as WATCH/MULTI/EXEC: its writes, and the [`Optimistic`] form the engine runs. The
//! writes move counters by increments, so they do not depend on the levels read; that is
//! what lets group commit queue many takes in one MULTI.

use super::super::journal::xadd;
use super::super::movement_cmd;
use super::Record;
use super::Take;
use super::decide::Settled;
use super::receipt::Receipt;
use crate::error::Error;
use crate::outcome::Effort;
use crate::txn::{Optimistic, Plan};
use redis::{Cmd, Value};

/// Writes per cart line, the line's `HINCRBY … available` first: the broken path reads the
/// level Redis answered from that position.
pub(super) const WRITES_PER_LINE: usize = 3;

impl Take {
    /// The writes of an accepted take. They do not depend on the levels read (counters move
    /// by increments), which is what lets a group commit queue many takes in one MULTI.
    pub(super) fn writes(&self) -> Vec<Cmd> {
        let lines = self.items.lines();
        let mut writes: Vec<Cmd> = Vec::with_capacity(lines.len() * WRITES_PER_LINE + 2);
        for line in lines {
            let key = self.store.keys().stock(&line.sku);
            let q = line.quantity.get();
            writes.push(redis::cmd("HINCRBY").arg(&key).arg("available").arg(-q).to_owned());
            writes.push(
                redis::cmd("HINCRBY")
                    .arg(&key)
                    .arg(self.destination())
                    .arg(q)
                    .to_owned(),
            );
            writes.push(movement_cmd(
                &self.store,
                &line.sku,
                self.kind,
                q,
                &self.reference,
                self.at_ms,
            ));
        }
        match &self.record {
            Record::Order { key, json } => writes.push(redis::cmd("SET").arg(key).arg(json).to_owned()),
            Record::Reservation {
                key,
                index,
                expires_at,
                fields,
            } => {
                writes.push(redis::cmd("HSET").arg(key).arg(fields).to_owned());
                writes.push(
                    redis::cmd("ZADD")
                        .arg(index)
                        .arg(expires_at)
                        .arg(&self.reference)
                        .to_owned(),
                );
            }
        }
        writes.extend(self.entry.as_deref().map(|json| xadd(&self.store, self.slot, json)));
        writes
    }
}

impl Optimistic for Take {
    /// `available` of each line (nil: unknown SKU), then the idempotency slot if any.
    type Snapshot = Vec<Value>;
    /// The committed answer.
    type Output = Receipt;
    /// A replay (`Ok`) or a refusal with nothing written (`Err`).
    type Rejection = Result<Receipt, Error>;

    fn watch_keys(&self) -> Vec<String> {
        let mut keys = self.stock_keys();
        keys.extend(self.idem.as_ref().map(|s| s.key.clone()));
        keys
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        for line in self.items.lines() {
            pipe.cmd("HGET")
                .arg(self.store.keys().stock(&line.sku))
                .arg("available");
        }
        if let Some(slot) = &self.idem {
            slot.read(pipe);
        }
    }

    fn decide(&self, snapshot: Vec<Value>, attempt: u32) -> Result<Plan<Receipt>, Self::Rejection> {
        let (levels, recalled) = self.split(snapshot).map_err(Err)?;
        let effort = Effort {
            attempts: attempt,
            conflicts: attempt - 1,
        };
        match self.settle(&levels, recalled, effort) {
            Settled::Commit { writes, receipt } => Ok(Plan {
                writes,
                output: receipt,
            }),
            Settled::Replay(receipt) => Err(Ok(receipt)),
            Settled::Refused(e) => Err(Err(e)),
        }
    }
}
