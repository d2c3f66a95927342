//! The decision every strategy shares: split what was read, recall an earlier answer, and
//! reach the take's verdict against the levels, into writes, a replay or a refusal.

use super::super::idempotency::Prior;
use super::super::level::{Allocation, Draw, Level};
use super::Take;
use super::gate::{Gate, counting};
use super::receipt::{Outcome, Receipt};
use super::tail::Tail;
use crate::domain::Sku;
use crate::error::{Error, StoreError};
use crate::outcome::Effort;
use redis::{Cmd, Value};

/// A take's verdict: what it does, given the levels read and what its stored answer held.
pub(crate) enum Verdict {
    /// Commit these writes, with what the take added to the MULTI's [`Tail`]; the receipt
    /// is the answer.
    Commit { writes: Vec<Cmd>, receipt: Receipt },
    /// Nothing to write: the answer an earlier call stored, or a refusal without a key
    /// to store it under. A refusal stays an [`Outcome`] naming its lines; it becomes an
    /// error only when it is rendered for the caller.
    Answer(Receipt),
    /// The read cannot be decided on: a stored answer or a stock hash that does not decode.
    Failed(Error),
}

impl Take {
    /// Splits this take's read: each line's stock hash, then the stored answer if any,
    /// then, when a SKU has a sale, the second read (`gate`). A reused key is an error here,
    /// like a read that does not decode.
    pub(crate) fn split(&self, snapshot: Vec<Value>) -> Result<(Vec<Option<Level>>, Prior, Gate), Error> {
        let mut it = snapshot.into_iter();
        let levels = self
            .items
            .lines()
            .iter()
            .map(|line| level_from(&line.sku, it.next()))
            .collect::<Result<Vec<_>, _>>()?;
        let prior = self.recall(if self.idem.is_some() { it.next() } else { None })?;
        let mut pairs = Vec::new();
        self.sale_pairs(|i| levels[i].as_ref().is_some_and(|l| l.sale.is_some()), &mut pairs);
        let gate = match pairs.is_empty() {
            true => Gate::default(),
            false => Gate::parse(pairs, it.collect())?,
        };
        Ok((levels, prior, gate))
    }

    /// Decodes this take's slot from its read (fresh when it has no key).
    pub(crate) fn recall(&self, stored: Option<Value>) -> Result<Prior, Error> {
        match (&self.idem, stored) {
            (None, _) => Ok(Prior::Fresh),
            (Some(slot), Some(v)) => slot.recall(v),
            (Some(_), None) => Err(StoreError::Protocol("idempotency read missing".into()).into()),
        }
    }

    /// Settles this take against each line's stock (in cart order). A take that commits
    /// adds its movements and counter moves to `tail`, whose writes its caller appends to
    /// the MULTI.
    pub(crate) fn verdict<'a>(
        &'a self,
        levels: &[Option<&Level>],
        prior: Prior,
        effort: Effort,
        tail: &mut Tail<'a>,
        gate: &mut Gate,
    ) -> Verdict {
        if let Prior::Replay(fields) = prior {
            return match Receipt::from_fields(&fields, &self.items.quantities(), self.reference) {
                Ok(r) => Verdict::Answer(r),
                Err(e) => Verdict::Failed(e.into()),
            };
        }
        let (outcome, drawn) = match self.check(levels, gate) {
            Ok(o) => o,
            Err(e) => return Verdict::Failed(e),
        };
        let mut receipt = self.receipt(outcome, effort);
        receipt.drawn = drawn;
        let mut writes = match (&receipt.outcome, &self.idem) {
            (Outcome::Taken(_), _) => {
                self.log_movements(&mut tail.log, levels, &receipt.drawn);
                // Empty (no allocation) unless a SKU has a sale.
                let counting = counting(levels);
                let mut writes = self.writes(&receipt.drawn, &alerting(levels), &counting, tail);
                if receipt.drawn.iter().any(|d| Allocation::preorder_of(d).is_some()) {
                    writes.extend(self.preorder_writes(levels, &receipt.drawn));
                }
                if !counting.is_empty() {
                    writes.extend(self.count_writes(&counting, gate));
                }
                writes
            }
            (_, Some(_)) => Vec::new(),
            (_, None) => return Verdict::Answer(receipt),
        };
        if let Some(slot) = &self.idem {
            writes.extend(slot.remember(&receipt.fields()));
        }
        Verdict::Commit { writes, receipt }
    }

    /// The decision: every SKU exists and each line can be drawn from its locations (the
    /// one it is pinned to, or all of them in priority order), of what is sellable (safety
    /// stock kept back). Taken: what each line leaves sellable, and where each line's units
    /// come from.
    pub(crate) fn check(
        &self,
        levels: &[Option<&Level>],
        gate: &Gate,
    ) -> Result<(Outcome, Vec<Vec<Allocation>>), Error> {
        let lines = self.items.lines();
        if levels.len() != lines.len() {
            return Err(StoreError::Protocol("read returned the wrong number of replies".into()).into());
        }
        if let Some(missing) = levels.iter().position(Option::is_none) {
            return Ok((Outcome::UnknownSku(missing), Vec::new()));
        }
        if levels.iter().flatten().any(|l| l.sale.is_some()) {
            let known: Vec<&Level> = levels.iter().flatten().copied().collect();
            if let Some(refused) = self.gate(&known, gate)? {
                return Ok((refused, Vec::new()));
            }
        }
        let mut drawn = Vec::with_capacity(lines.len());
        let mut short = Vec::new();
        for (i, (line, level)) in lines.iter().zip(levels.iter().flatten()).enumerate() {
            match level.draw(line.quantity.get(), line.location.as_ref()) {
                Draw::Drawn(d) => drawn.push(d),
                Draw::UnknownLocation => return Ok((Outcome::UnknownLocation(i), Vec::new())),
                // What the shelf cannot cover may be preordered whole, when the SKU allows it.
                Draw::Short(available) => match level.draw_preorder(line.quantity.get(), line.location.as_ref()) {
                    Some(preorder) => drawn.push(vec![preorder]),
                    None => short.push((i, available)),
                },
            }
        }
        if !short.is_empty() {
            return Ok((Outcome::Short(short), Vec::new()));
        }
        let left = lines
            .iter()
            .zip(levels.iter().flatten())
            .zip(&drawn)
            .map(|((l, level), d)| match Allocation::preorder_of(d).is_some() {
                true => level.totals.sellable(),
                false => level.totals.sellable() - l.quantity.get(),
            })
            .collect();
        Ok((Outcome::Taken(left), drawn))
    }
}

/// Per line, whether its SKU has alert rules (see `Take::writes`).
pub(crate) fn alerting(levels: &[Option<&Level>]) -> Vec<bool> {
    levels.iter().map(|l| l.is_some_and(|l| l.rules.any())).collect()
}

/// Decodes one stock hash of a take's read (HGETALL); `None` when the SKU does not exist.
pub(crate) fn level_from(sku: &Sku, value: Option<Value>) -> Result<Option<Level>, Error> {
    let value = value.ok_or_else(|| StoreError::Protocol("take read is missing a stock hash".into()))?;
    let fields: foldhash::HashMap<String, String> = redis::from_redis_value(value).map_err(StoreError::from)?;
    Ok(Level::parse(sku, &fields)?)
}
