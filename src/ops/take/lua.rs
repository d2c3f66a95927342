//! Takes as Lua script calls (`src/lua/take.lua`): the same decision, made inside Redis,
//! with the arguments encoded here and each reply decoded back into a [`Receipt`]. One call
//! carries a batch of takes (group commit, as on `watch`), or one take with batching off.

use super::super::alerts::with_alerts;
use super::receipt::{Outcome, Receipt};
use super::{Record, Take};
use crate::error::{Error, StoreError};
use crate::outcome::Effort;
use crate::store::Store;
use redis::Value;
use std::sync::LazyLock;

static TAKE_SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(&with_alerts(include_str!("../../lua/take.lua"))));

/// Runs `takes` as one script call, each decided in order against what the ones before it
/// left; one result per take, in order. All of them are in one slot (one Redis, or one
/// cluster slot), as one script's keys must be.
pub(super) async fn run_script(takes: &[Take]) -> Vec<Result<Receipt, Error>> {
    let store = &takes[0].store;
    let deadline = takes.iter().map(|t| t.deadline).min().expect("a batch is never empty");
    let mut inv = TAKE_SCRIPT.prepare_invoke();
    inv.arg(takes.len()).arg(store.config().movements_maxlen);
    for take in takes {
        take.push_args(&mut inv);
    }
    let mut conn = store.shared();
    let invoke = async {
        // redis-rs answers NOSCRIPT with SCRIPT LOAD and a second EVALSHA; a SCRIPT FLUSH
        // in between makes that one fail too. On a cluster mid-resharding, a slot that
        // moved or is half moved answers MOVED, ASK or TRYAGAIN past the client's own few
        // tries. Each of these means the script did not run, so trying again is safe; the
        // deadline bounds it.
        let mut tries = 0u64;
        loop {
            match inv.invoke_async::<Vec<Value>>(&mut conn).await {
                Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) && tries < 5 => {
                    tries += 1;
                }
                Err(e) if matches!(StoreError::from(e.clone()), StoreError::Moved(_)) => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(tries.min(20) * 5)).await;
                }
                other => return other,
            }
        }
    };
    let replies: Vec<Value> = match Store::bounded(deadline, invoke).await {
        Ok(replies) if replies.len() == takes.len() => replies,
        Ok(replies) => {
            let e = StoreError::Protocol(format!("take.lua: {} replies for {} takes", replies.len(), takes.len()));
            return takes.iter().map(|_| Err(e.clone().into())).collect();
        }
        Err(e) => {
            store.master_lost(&e).await;
            return takes.iter().map(|_| Err(e.clone().into())).collect();
        }
    };
    store.metrics().attempt_answered(takes.len() as u32, false);
    store.metrics().group_commit("lua", takes.len());
    takes
        .iter()
        .zip(replies)
        .map(|(take, reply)| match reply {
            Value::Array(reply) => take.script_receipt(reply),
            other => Err(StoreError::Protocol(format!("take.lua: reply {other:?}")).into()),
        })
        .collect()
}

impl Take {
    /// One take by itself: a batch of one (`--batching off`, and the teaching path).
    pub(super) async fn run_lua(&self) -> Result<Receipt, Error> {
        let mut results = run_script(std::slice::from_ref(self)).await;
        results.pop().expect("one result per take")
    }

    /// Appends this take's keys and arguments, in take.lua's layout for one buyer.
    fn push_args(&self, inv: &mut redis::ScriptInvocation<'_>) {
        let keys = self.store.keys();
        let lines = self.items.lines();
        for line in lines {
            inv.key(keys.stock(&line.sku));
        }
        for line in lines {
            inv.key(keys.movements(&line.sku));
        }
        let (mode, record_key, record_args) = match &self.record {
            Record::Order { key, .. } => ("order", key, 1),
            Record::Reservation { key, fields, .. } => ("reservation", key, 2 * fields.len()),
        };
        inv.key(record_key)
            .key(keys.expiry(self.slot))
            .key(keys.journal(self.store.feed_slot(self.slot)))
            .key(keys.alerts(self.store.feed_slot(self.slot)));
        let (fp, retention) = match &self.idem {
            Some(slot) => {
                let (key, fp, retention) = slot.script_args();
                inv.key(key);
                (fp, retention)
            }
            None => ("", 0),
        };
        inv.arg(lines.len())
            .arg(u8::from(self.idem.is_some()))
            .arg(record_args)
            .arg(self.destination())
            .arg(self.kind)
            .arg(&self.reference)
            .arg(self.at_ms)
            .arg(mode)
            .arg(self.expires_at())
            .arg(fp)
            .arg(retention)
            .arg(self.entry.as_deref().unwrap_or(""));
        for line in lines {
            inv.arg(line.quantity.get());
        }
        for line in lines {
            inv.arg(line.location.as_ref().map_or("", |l| l.as_str()));
        }
        match &self.record {
            Record::Order { json, .. } => {
                inv.arg(json);
            }
            Record::Reservation { fields, .. } => {
                inv.arg(fields);
            }
        }
    }

    fn script_receipt(&self, reply: Vec<Value>) -> Result<Receipt, Error> {
        let mut it = reply.into_iter();
        let tag: String = match it.next() {
            Some(v) => redis::from_redis_value(v).map_err(StoreError::from)?,
            None => return Err(StoreError::Protocol("take.lua: empty reply".into()).into()),
        };
        match tag.as_str() {
            "key_reused" => Err(Error::IdempotencyKeyReused),
            "replay" => {
                let flat: Vec<String> = it
                    .map(redis::from_redis_value)
                    .collect::<Result<_, _>>()
                    .map_err(StoreError::from)?;
                let fields = flat
                    .chunks(2)
                    .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()));
                Ok(Receipt::from_fields(&fields.collect(), &self.items.quantities())?)
            }
            tag => {
                // A take answers its levels, then each line's allocations.
                let n = self.items.lines().len();
                let values: Vec<Value> = it.collect();
                let (nums, allocs) = values.split_at(if tag == "ok" { n.min(values.len()) } else { values.len() });
                let nums: Vec<i64> = nums
                    .iter()
                    .map(redis::from_redis_value_ref)
                    .collect::<Result<_, _>>()
                    .map_err(StoreError::from)?;
                let allocs: Vec<String> = allocs
                    .iter()
                    .map(redis::from_redis_value_ref)
                    .collect::<Result<_, _>>()
                    .map_err(StoreError::from)?;
                let outcome = Outcome::decode(tag, &nums, n)?;
                let mut receipt = self.receipt(
                    outcome,
                    Effort {
                        attempts: 1,
                        conflicts: 0,
                    },
                );
                receipt.drawn = Receipt::drawn_of(&receipt.outcome, &allocs.join(";"), &self.items.quantities())?;
                Ok(receipt)
            }
        }
    }
}
