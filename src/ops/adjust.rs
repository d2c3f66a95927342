use super::stockroom::Change;
use super::{Stock, admin_entry, level_of, movement_with, now_ms, read_stock};
use crate::domain::{Location, Sku};
use crate::error::{Error, Shortage};
use crate::store::Store;
use crate::txn::{Optimistic, Plan};
use std::collections::HashMap;

/// Why a count differed from the books: recorded with the movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A routine physical count.
    CycleCount,
    /// Units found broken.
    Damaged,
    /// Units that went missing.
    Lost,
    /// Units that turned up.
    Found,
}

impl Reason {
    /// The contract's names.
    pub const ALL: [&'static str; 4] = ["cycle_count", "damaged", "lost", "found"];

    /// Parses one of [`Self::ALL`].
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "cycle_count" => Self::CycleCount,
            "damaged" => Self::Damaged,
            "lost" => Self::Lost,
            "found" => Self::Found,
            _ => return None,
        })
    }

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CycleCount => "cycle_count",
            Self::Damaged => "damaged",
            Self::Lost => "lost",
            Self::Found => "found",
        }
    }
}

/// What the adjustment says: an absolute count, or a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// A physical count found this many available units.
    Counted(i64),
    /// This many units appeared (positive) or went (negative).
    Delta(i64),
}

/// `POST /v1/skus/{sku}/locations/{location}/adjustments`: corrects `available` at one
/// location in one transaction and records an `adjust` movement with the reason and the
/// difference. The difference counts as stock received (or, negative, written off), so
/// `verify` stays exact. A difference that would leave less than nothing is refused with
/// `insufficient_stock`. A count that matches the books still records its movement (of 0):
/// that the count was made is worth keeping.
pub async fn adjust(
    store: &Store,
    sku: &Sku,
    location: &Location,
    correction: Correction,
    reason: Reason,
) -> Result<Stock, Error> {
    let op = Adjust {
        store,
        sku,
        location,
        correction,
        reason,
        at_ms: now_ms(),
    };
    super::run_admin(store, "adjust", sku, &op).await
}

struct Adjust<'a> {
    store: &'a Store,
    sku: &'a Sku,
    location: &'a Location,
    correction: Correction,
    reason: Reason,
    at_ms: i64,
}

impl Optimistic for Adjust<'_> {
    type Snapshot = (HashMap<String, String>,);
    type Output = Stock;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, attempt: u32) -> Result<Plan<Stock>, Error> {
        let level = level_of(self.sku, &fields)?.ok_or_else(|| Error::unknown_sku(self.sku.as_str()))?;
        let mut change = Change::new(self.store.keys().stock(self.sku), Some(level));
        let available = change.existing(self.sku, self.location)?.counts.available;
        let delta = match self.correction {
            Correction::Counted(n) => n - available,
            Correction::Delta(d) => d,
        };
        if available + delta < 0 {
            return Err(Error::InsufficientStock {
                items: vec![Shortage {
                    sku: self.sku.clone(),
                    available: available.max(0),
                    requested: -delta,
                }],
                attempts: attempt,
            });
        }
        change.receive(self.location, delta, true);
        change.check_alerts(self.store, self.sku, delta, self.at_ms);
        let extra = [("location", self.location.as_str()), ("reason", self.reason.as_str())];
        change.writes.push(movement_with(
            self.store, self.sku, "adjust", delta, "admin", self.at_ms, &extra,
        ));
        change
            .writes
            .extend(admin_entry(self.store, self.sku, "adjust", delta, self.at_ms));
        Ok(Plan {
            output: change.level.to_stock(self.sku),
            writes: change.writes,
        })
    }
}
