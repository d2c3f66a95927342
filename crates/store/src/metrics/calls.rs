//! A finished call's metrics. Its handles are found once per operation, strategy and
//! outcome and kept, instead of five lookups by label (each hashing the label strings and
//! taking a lock) on every purchase.

use super::Metrics;
use crate::outcome::{CallOutcome, Effort};
use foldhash::HashMap;
use prometheus::{Histogram, IntCounter};
use std::sync::RwLock;
use std::time::Duration;

/// Every series one call touches, for one operation, strategy and outcome.
struct CallSet {
    calls: IntCounter,
    attempts: IntCounter,
    conflicts: IntCounter,
    attempts_per_call: Histogram,
    duration: Histogram,
}

/// The label values' addresses and lengths: static strings, so equal labels mostly share
/// an address, and two addresses for one label only make two entries with the same series.
type Key = [(usize, usize); 3];

/// The call sets met so far; a handful per process (operations × strategies × outcomes).
/// Looked up on every call, so hashed with foldhash rather than SipHash (the keys are
/// addresses, nothing a caller chooses).
#[derive(Default)]
pub(super) struct Handles(RwLock<HashMap<Key, CallSet>>);

impl Metrics {
    /// Records one finished stock-moving call.
    pub fn call(
        &self,
        op: &'static str,
        strategy: &'static str,
        outcome: CallOutcome,
        effort: Effort,
        elapsed: Duration,
    ) {
        self.in_call_set([op, strategy, outcome.label()], |set| {
            set.calls.inc();
            set.attempts.inc_by(effort.attempts.into());
            set.conflicts.inc_by(effort.conflicts.into());
            set.attempts_per_call.observe(effort.attempts.into());
            set.duration.observe(elapsed.as_secs_f64());
        });
        let labels = &[op, strategy];
        match outcome {
            CallOutcome::GaveUp { throttled } => {
                self.giveups.with_label_values(labels).inc();
                if throttled {
                    self.budget_exhausted.with_label_values(labels).inc();
                }
            }
            CallOutcome::Rejected(reason) => self.rejections.with_label_values(&[op, strategy, reason]).inc(),
            CallOutcome::Committed | CallOutcome::Failed => {}
        }
        let [a, c] = &self.totals;
        a.fetch_add(effort.attempts.into(), std::sync::atomic::Ordering::Relaxed);
        c.fetch_add(effort.conflicts.into(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs `record` on the series of `[op, strategy, outcome]`, made on first use.
    fn in_call_set(&self, labels: [&'static str; 3], record: impl FnOnce(&CallSet)) {
        let key: Key = labels.map(|l| (l.as_ptr() as usize, l.len()));
        let handles = &self.call_handles.0;
        if let Some(set) = handles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return record(set);
        }
        let [op, strategy, _] = labels;
        let pair = &[op, strategy];
        let mut sets = handles.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let set = sets.entry(key).or_insert_with(|| CallSet {
            calls: self.calls.with_label_values(&labels),
            attempts: self.attempts.with_label_values(pair),
            conflicts: self.conflicts.with_label_values(pair),
            attempts_per_call: self.attempts_per_call.with_label_values(pair),
            duration: self.duration.with_label_values(pair),
        });
        record(set);
    }
}
