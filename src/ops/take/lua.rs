//! A take as one Lua script call (`src/lua/take.lua`): the same decision, made inside Redis,
//! with the arguments encoded here and the reply decoded back into a [`Receipt`].

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

impl Take {
    /// One script call on the shared multiplexed connection; `redis::Script` reloads the
    /// script transparently after NOSCRIPT (a restart or SCRIPT FLUSH).
    pub(super) async fn run_lua(&self) -> Result<Receipt, Error> {
        let keys = self.store.keys();
        let lines = self.items.lines();
        let mut inv = TAKE_SCRIPT.prepare_invoke();
        for line in lines {
            inv.key(keys.stock(&line.sku));
        }
        for line in lines {
            inv.key(keys.movements(&line.sku));
        }
        let (mode, record_key) = match &self.record {
            Record::Order { key, .. } => ("order", key),
            Record::Reservation { key, .. } => ("reservation", key),
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
            .arg(self.destination())
            .arg(self.kind)
            .arg(&self.reference)
            .arg(self.at_ms)
            .arg(self.store.config().movements_maxlen)
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
        let mut conn = self.store.shared();
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
        let reply: Vec<Value> = match Store::bounded(self.deadline, invoke).await {
            Ok(reply) => reply,
            Err(e) => {
                self.store.master_lost(&e).await;
                return Err(e.into());
            }
        };
        self.store.metrics().attempt_answered(1, false);
        self.script_receipt(reply)
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
