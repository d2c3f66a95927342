//! A drop's gate on a take (`crate::sale`): the second read a take makes only when one of
//! its SKUs has sale settings (Redis's clock, each counted customer's numbers), the checks
//! against it, and the count writes of a take that went through.

use super::Take;
use super::receipt::Outcome;
use crate::domain::{Sku, UserId};
use crate::error::{Capped, StoreError};
use crate::level::Level;
use crate::sale::{FIELD, count_fields};
use redis::{Cmd, Value};
use std::collections::HashMap;

/// What a take (or a batch of takes) read besides the levels, when a SKU has a sale.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// Redis's `TIME`, in ms; read whenever any SKU read has a sale.
    pub now_ms: Option<i64>,
    /// Per SKU and customer: units counted, then active holds. Kept up to date as the
    /// takes of a batch go through, as levels are.
    counts: HashMap<(Sku, UserId), (i64, i64)>,
}

/// Whether a stock hash read (HGETALL, RESP2 or RESP3) has sale settings: a scan of its
/// field names, so a take of a SKU without a sale decodes nothing more to know it.
pub(crate) fn has_sale(reply: &Value) -> bool {
    let is = |v: &Value| matches!(v, Value::BulkString(b) if b == FIELD.as_bytes());
    match reply {
        Value::Array(items) => items.iter().step_by(2).any(is),
        Value::Map(pairs) => pairs.iter().any(|(k, _)| is(k)),
        _ => false,
    }
}

impl Gate {
    /// The second read: `TIME`, then each customer's counts of each SKU in `pairs`.
    pub(crate) fn read(store: &crate::Inventory, pairs: &[(Sku, UserId)], pipe: &mut redis::Pipeline) {
        pipe.cmd("TIME");
        for (sku, user) in pairs {
            pipe.cmd("HMGET")
                .arg(store.keys().customers(sku))
                .arg(&count_fields(user)[..]);
        }
    }

    /// Decodes [`Self::read`]'s replies.
    pub(crate) fn parse(pairs: Vec<(Sku, UserId)>, replies: Vec<Value>) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Protocol(format!("sale read: bad {what}").into());
        let mut it = replies.into_iter();
        let (secs, micros): (i64, i64) =
            redis::from_redis_value(it.next().ok_or_else(|| bad("TIME"))?).map_err(|_| bad("TIME"))?;
        let mut counts = HashMap::with_capacity(pairs.len());
        for pair in pairs {
            let got: (Option<i64>, Option<i64>) =
                redis::from_redis_value(it.next().ok_or_else(|| bad("counts"))?).map_err(|_| bad("counts"))?;
            counts.insert(pair, (got.0.unwrap_or(0), got.1.unwrap_or(0)));
        }
        Ok(Self {
            now_ms: Some(secs * 1000 + micros / 1000),
            counts,
        })
    }

    fn counted(&self, sku: &Sku, user: &UserId) -> (i64, i64) {
        self.counts.get(&(sku.clone(), user.clone())).copied().unwrap_or((0, 0))
    }
}

impl Take {
    /// Whether this take leaves a hold counted against `max_active_holds_per_customer`.
    fn holds(&self) -> bool {
        matches!(
            self.record,
            super::Record::Reservation {
                counts_as_hold: true,
                ..
            }
        )
    }

    /// The pairs this take's second read needs, given which lines' SKUs have a sale.
    pub(crate) fn sale_pairs(&self, on_sale: impl Fn(usize) -> bool, pairs: &mut Vec<(Sku, UserId)>) {
        for (i, line) in self.items.lines().iter().enumerate() {
            let pair = (line.sku.clone(), self.user().clone());
            if on_sale(i) && !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }

    /// The sale's verdict on this take, before any stock is drawn: `None` lets it through.
    /// Windows first (for every line), then admissions to a waiting room, then limits.
    pub(crate) fn gate(&self, levels: &[&Level], gate: &Gate) -> Result<Option<Outcome>, StoreError> {
        let lines = self.items.lines();
        for (i, level) in levels.iter().enumerate() {
            let Some(sale) = level.sale.filter(|s| s.has_window()) else {
                continue;
            };
            let now = gate
                .now_ms
                .ok_or_else(|| StoreError::Protocol("sale read missing".into()))?;
            if let Some(window) = sale.window_at(now) {
                return Ok(Some(Outcome::NotOnSale(i, window, now)));
            }
        }
        for (i, (line, level)) in lines.iter().zip(levels).enumerate() {
            if !level.sale.is_some_and(|s| s.queued()) {
                continue;
            }
            let now = gate
                .now_ms
                .ok_or_else(|| StoreError::Protocol("sale read missing".into()))?;
            let admissions = self.store.admissions();
            if admissions
                .and_then(|a| a.until(&line.sku))
                .is_none_or(|until| now >= until)
            {
                return Ok(Some(Outcome::NotAdmitted(i, admissions.is_some())));
            }
        }
        for (i, (line, level)) in lines.iter().zip(levels).enumerate() {
            let Some(sale) = level.sale.filter(|s| s.counts()) else {
                continue;
            };
            let (units, holds) = gate.counted(&line.sku, self.user());
            if let Some(limit) = sale.per_customer_limit
                && units + line.quantity.get() > limit
            {
                return Ok(Some(Outcome::OverLimit(i, Capped::Units, limit, units)));
            }
            if let Some(max) = sale.max_active_holds_per_customer
                && self.holds()
                && holds + 1 > max
            {
                return Ok(Some(Outcome::OverLimit(i, Capped::ActiveHolds, max, holds)));
            }
        }
        Ok(None)
    }

    /// The count writes of this take, gone through, for its lines whose SKU counts
    /// customers; the counts of `gate` follow, for the next take of a batch.
    pub(crate) fn count_writes(&self, counting: &[bool], gate: &mut Gate) -> Vec<Cmd> {
        let mut writes = Vec::new();
        let hold = i64::from(self.holds());
        for (line, _) in self.items.lines().iter().zip(counting).filter(|(_, c)| **c) {
            let [units, holds] = count_fields(self.user());
            let key = self.store.keys().customers(&line.sku);
            writes.push(
                redis::cmd("HINCRBY")
                    .arg(&key)
                    .arg(units)
                    .arg(line.quantity.get())
                    .to_owned(),
            );
            if hold == 1 {
                writes.push(redis::cmd("HINCRBY").arg(&key).arg(holds).arg(1).to_owned());
            }
            let counted = gate.counts.entry((line.sku.clone(), self.user().clone())).or_default();
            counted.0 += line.quantity.get();
            counted.1 += hold;
        }
        writes
    }
}

/// Per line, whether its SKU counts what customers take; empty when none does.
pub(crate) fn counting(levels: &[Option<&Level>]) -> Vec<bool> {
    let counts = |l: &Option<&Level>| l.is_some_and(|l| l.sale.is_some_and(|s| s.counts()));
    match levels.iter().any(counts) {
        true => levels.iter().map(counts).collect(),
        false => Vec::new(),
    }
}
