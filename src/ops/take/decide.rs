//! The decision every strategy shares: split what was read, recall an earlier answer, and
//! settle the take against the levels, into writes, a replay or a refusal.

use super::super::idempotency::Recalled;
use super::Take;
use super::receipt::{Outcome, Receipt};
use crate::error::{Error, StoreError};
use crate::outcome::Effort;
use redis::{Cmd, Value};

/// How one take settles against a level and whatever its idempotency slot held.
pub(crate) enum Settled {
    /// Commit these writes; the receipt is the answer.
    Commit { writes: Vec<Cmd>, receipt: Receipt },
    /// Answered before: nothing to write.
    Replay(Receipt),
    /// Refused with nothing to store (no idempotency key, or the key was reused).
    Refused(Error),
}

impl Take {
    /// Splits this take's read: `available` per line, then the idempotency slot if any.
    /// A reused key is an error here, like a read that does not decode.
    pub(crate) fn split(&self, snapshot: Vec<Value>) -> Result<(Vec<Option<i64>>, Recalled), Error> {
        let n = self.items.lines().len();
        let mut it = snapshot.into_iter();
        let levels = it
            .by_ref()
            .take(n)
            .map(redis::from_redis_value)
            .collect::<Result<Vec<Option<i64>>, _>>()
            .map_err(StoreError::from)?;
        Ok((levels, self.recall(it.next())?))
    }

    /// Decodes this take's slot from its read (fresh when it has no key).
    pub(crate) fn recall(&self, stored: Option<Value>) -> Result<Recalled, Error> {
        match (&self.idem, stored) {
            (None, _) => Ok(Recalled::Fresh),
            (Some(slot), Some(v)) => slot.recall(v),
            (Some(_), None) => Err(StoreError::Protocol("idempotency read missing".into()).into()),
        }
    }

    /// Settles this take against `available` per line (in cart order).
    pub(crate) fn settle(&self, levels: &[Option<i64>], recalled: Recalled, effort: Effort) -> Settled {
        if let Recalled::Replay(fields) = recalled {
            return match Receipt::from_fields(&fields, self.items.lines().len()) {
                Ok(r) => Settled::Replay(r),
                Err(e) => Settled::Refused(e.into()),
            };
        }
        let outcome = match self.check(levels) {
            Ok(o) => o,
            Err(e) => return Settled::Refused(e),
        };
        let receipt = self.receipt(outcome, effort);
        let mut writes = match (&receipt.outcome, &self.idem) {
            (Outcome::Taken(_), _) => self.writes(),
            (_, Some(_)) => Vec::new(),
            (_, None) => {
                let refusal = receipt.into_taken(&self.items).err();
                return Settled::Refused(refusal.expect("a refusal outcome renders an error"));
            }
        };
        if let Some(slot) = &self.idem {
            writes.extend(slot.remember(&receipt.fields()));
        }
        Settled::Commit { writes, receipt }
    }

    /// The decision: every SKU exists and has enough, given `available` per line.
    pub(crate) fn check(&self, available: &[Option<i64>]) -> Result<Outcome, Error> {
        let lines = self.items.lines();
        if available.len() != lines.len() {
            return Err(StoreError::Protocol("read returned the wrong number of replies".into()).into());
        }
        if let Some(missing) = available.iter().position(Option::is_none) {
            return Ok(Outcome::UnknownSku(missing));
        }
        let available: Vec<i64> = available.iter().flatten().copied().collect();
        let short: Vec<(usize, i64)> = lines
            .iter()
            .zip(&available)
            .enumerate()
            .filter(|(_, (l, a))| **a < l.quantity.get())
            .map(|(i, (_, a))| (i, *a))
            .collect();
        if !short.is_empty() {
            return Ok(Outcome::Short(short));
        }
        Ok(Outcome::Taken(
            lines
                .iter()
                .zip(&available)
                .map(|(l, a)| a - l.quantity.get())
                .collect(),
        ))
    }
}
