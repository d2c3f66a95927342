//! What a race looked like, read from each buyer's answer: who won it ([`fairness`]), stock
//! over time ([`timeline`]). Its picture is drawn by `stockwatch-tools` (`plot`).
//!
//! A race is many buyers for few units: `stockwatch demo race`, the dashboard's rush and
//! every `bench` run. Each buyer takes an arrival number from a shared [`Clock`] as its call
//! enters the engine (or, over HTTP, as its request is sent), and ends as a [`Call`]: its
//! outcome, the attempts it made and the `available` levels Redis reported in its answer.
//! Everything here is computed afterwards from those records, so measuring costs the race
//! one atomic increment and one push per buyer.

pub mod fairness;
pub mod timeline;

pub use fairness::{Fairness, Percentiles, table as fairness_table};
pub use timeline::{Bucket, Sample, Timeline, sampled};

use crate::convert;
use crate::error::Error;
use crate::outcome::Effort;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// How one call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Served: an order or a hold (201).
    Success,
    /// Turned away for stock (409 `insufficient_stock`).
    Rejected,
    /// Turned away because retries ran out (503 `contention`).
    GaveUp,
    /// Refused by a sale's rule (409 `limit_exceeded` or `not_on_sale`, 403 without an
    /// admission): not a race for stock, so neither served nor turned away by it.
    Limited,
    /// Anything else (a Redis failure, a timeout): neither served nor turned away.
    Failed,
}

impl Outcome {
    /// Whether the buyer was turned away: refused for stock, or out of retries.
    pub fn turned_away(self) -> bool {
        matches!(self, Self::Rejected | Self::GaveUp)
    }
}

/// What one call's answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// How it ended.
    pub outcome: Outcome,
    /// Attempts it made (1 on `lua` and `broken`).
    pub attempts: u32,
    /// Of which aborted by a conflicting write.
    pub conflicts: u32,
    /// `available` as Redis reported it, per line the answer named: (SKU index, level). A
    /// success reports what each line left; a refusal what the short lines had.
    pub levels: Vec<(u32, i64)>,
}

impl Answer {
    /// An answer that cost `effort`.
    pub fn new(outcome: Outcome, effort: Effort, levels: Vec<(u32, i64)>) -> Self {
        Self {
            outcome,
            attempts: effort.attempts,
            conflicts: effort.conflicts,
            levels,
        }
    }

    /// A library call's answer. `taken` gives a success's effort and the level each cart
    /// line left; `index` maps a SKU to its index in the race.
    pub fn library<T>(
        result: &Result<T, Error>,
        taken: impl Fn(&T) -> (Effort, Vec<(u32, i64)>),
        index: impl Fn(&crate::domain::Sku) -> u32,
    ) -> Self {
        match result {
            Ok(t) => {
                let (effort, levels) = taken(t);
                Self::new(Outcome::Success, effort, levels)
            }
            Err(Error::InsufficientStock { items, attempts }) => Self::new(
                Outcome::Rejected,
                Effort::refused_after(*attempts),
                items.iter().map(|s| (index(&s.sku), s.available)).collect(),
            ),
            Err(Error::Contention { attempts, .. }) => {
                Self::new(Outcome::GaveUp, Effort::gave_up_after(*attempts), Vec::new())
            }
            Err(
                Error::LimitExceeded { .. }
                | Error::NotOnSale { .. }
                | Error::AdmissionRequired { .. }
                | Error::AdmissionInvalid { .. },
            ) => Self::new(Outcome::Limited, Effort::of(1, 0), Vec::new()),
            Err(_) => Self::new(Outcome::Failed, Effort::of(1, 0), Vec::new()),
        }
    }
}

/// One buyer's call: when it arrived, when it was answered, and what the answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Arrival number, from 0: the order in which calls entered the engine.
    pub arrival: u64,
    /// When it entered, µs since the race started.
    pub start_us: u64,
    /// When it was answered, µs since the race started.
    pub end_us: u64,
    /// The answer.
    pub answer: Answer,
}

impl Call {
    /// Time from arrival to answer, µs.
    pub fn latency_us(&self) -> u64 {
        self.end_us.saturating_sub(self.start_us)
    }
}

/// Calls that ended as `outcome`.
pub fn count(calls: &[Call], outcome: Outcome) -> u64 {
    calls.iter().filter(|c| c.answer.outcome == outcome).count() as u64
}

/// The race's clock: hands out arrival numbers and timestamps to every buyer.
#[derive(Debug)]
pub struct Clock {
    started: Instant,
    next: AtomicU64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::start()
    }
}

impl Clock {
    /// A clock whose zero is now.
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            next: AtomicU64::new(0),
        }
    }

    /// Takes the next arrival number, stamped with the time.
    pub fn arrive(&self) -> (u64, u64) {
        (self.next.fetch_add(1, Ordering::Relaxed), self.now_us())
    }

    /// µs since the race started.
    pub fn now_us(&self) -> u64 {
        convert::micros(self.started.elapsed())
    }

    /// Runs one buyer's call: takes its arrival number as it enters, stamps its answer.
    pub async fn time<F: Future<Output = Answer>>(&self, call: F) -> Call {
        let (arrival, start_us) = self.arrive();
        let answer = call.await;
        Call {
            arrival,
            start_us,
            end_us: self.now_us(),
            answer,
        }
    }
}
