//! Stock over time, in small time buckets, from what Redis answered.
//!
//! A race only takes stock, so a SKU's level can only fall: the level at time t is the
//! lowest that any answer received by t reported (an answer overtaken on the way back
//! reports a level Redis has already passed, and changes nothing). `broken` answers with
//! the levels its writes produced, so the dive below zero shows. Commits are counted in the
//! bucket where their call was answered.
//!
//! Attempts and conflicts happen all through a call, not when it is answered: a textbook
//! WATCH buyer who is finally refused has conflicted the whole rush. When the race runs in
//! this process they come from the engine's own counters (one tick per EXEC that Redis
//! answered), sampled every millisecond by [`sampled`]. Over HTTP, where only the answers
//! are seen, each call's attempts are counted in the bucket where it was answered.

use super::{Call, Clock, Outcome};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The engine's cumulative attempts and conflicts at one moment of a race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// µs since the race started.
    pub t_us: u64,
    /// Attempts so far.
    pub attempts: u64,
    /// Conflicts so far.
    pub conflicts: u64,
}

/// Runs `race`, sampling `counters` (cumulative attempts and conflicts) every millisecond
/// on the race's clock, once at the start and once at the end.
pub async fn sampled<F: Future>(clock: &Clock, counters: impl Fn() -> (u64, u64), race: F) -> (F::Output, Vec<Sample>) {
    let sample = || {
        let (attempts, conflicts) = counters();
        Sample {
            t_us: clock.now_us(),
            attempts,
            conflicts,
        }
    };
    let mut samples = vec![sample()];
    let mut race = std::pin::pin!(race);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            out = &mut race => {
                samples.push(sample());
                return (out, samples);
            }
            _ = tick.tick() => samples.push(sample()),
        }
    }
}

/// Buckets a timeline is cut into, unless they would be shorter than [`MIN_BUCKET_US`].
pub const BUCKETS: usize = 100;
/// The shortest bucket: finer than the timer a buyer's answer is stamped with means noise.
pub const MIN_BUCKET_US: u64 = 200;

/// One bucket of a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bucket {
    /// End of the bucket, µs since the race started.
    pub t_us: u64,
    /// Total `available` over the race's SKUs at the end of the bucket.
    pub available: i64,
    /// Calls served in the bucket.
    pub commits: u64,
    /// Attempts made by the calls answered in the bucket.
    pub attempts: u64,
    /// Of which aborted by a conflicting write.
    pub conflicts: u64,
}

/// A race's stock, commits, attempts and conflicts over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Timeline {
    /// Bucket length, µs.
    pub bucket_us: u64,
    /// Total `available` when the race started.
    pub start_available: i64,
    /// The buckets, from the first to the one holding the last answer.
    pub buckets: Vec<Bucket>,
}

impl Timeline {
    /// Of a race's calls, on SKUs whose levels were `initial` (indexed as in
    /// [`super::Answer::levels`]), in about [`BUCKETS`] buckets. `effort`: the engine's
    /// counters sampled through the race, if it ran here (otherwise the answers' efforts).
    pub fn of(calls: &[Call], initial: &[i64], effort: Option<&[Sample]>) -> Self {
        let end = calls.iter().map(|c| c.end_us).max().unwrap_or(0);
        let bucket_us = end.div_ceil(BUCKETS as u64).max(MIN_BUCKET_US);
        let mut level = initial.to_vec();
        let mut total: i64 = initial.iter().sum();
        let start_available = total;
        let mut order: Vec<&Call> = calls.iter().collect();
        order.sort_by_key(|c| c.end_us);
        let mut buckets = Vec::new();
        let mut next = order.into_iter().peekable();
        let mut samples = effort.map(|s| s.iter().peekable());
        let base = effort
            .and_then(|s| s.first())
            .map_or((0, 0), |s| (s.attempts, s.conflicts));
        let mut counted = base;
        let mut t = 0;
        while next.peek().is_some() {
            t += bucket_us;
            let mut b = Bucket {
                t_us: t,
                available: 0,
                commits: 0,
                attempts: 0,
                conflicts: 0,
            };
            if let Some(samples) = &mut samples {
                let mut upto = counted;
                while let Some(s) = samples.next_if(|s| s.t_us < t) {
                    upto = (s.attempts, s.conflicts);
                }
                // The last bucket takes whatever the final sample adds.
                if next.clone().all(|c| c.end_us < t) {
                    upto = samples.clone().last().map_or(upto, |s| (s.attempts, s.conflicts));
                }
                (b.attempts, b.conflicts) = (upto.0 - counted.0, upto.1 - counted.1);
                counted = upto;
            }
            while let Some(c) = next.next_if(|c| c.end_us < t) {
                b.commits += u64::from(c.answer.outcome == Outcome::Success);
                if samples.is_none() {
                    b.attempts += u64::from(c.answer.attempts);
                    b.conflicts += u64::from(c.answer.conflicts);
                }
                for &(sku, reported) in &c.answer.levels {
                    if let Some(l) = level.get_mut(sku as usize)
                        && reported < *l
                    {
                        total -= *l - reported;
                        *l = reported;
                    }
                }
            }
            b.available = total;
            buckets.push(b);
        }
        Self {
            bucket_us,
            start_available,
            buckets,
        }
    }

    /// The lowest total `available` the race reached.
    pub fn lowest(&self) -> i64 {
        self.buckets
            .iter()
            .map(|b| b.available)
            .min()
            .unwrap_or(self.start_available)
            .min(self.start_available)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Answer;
    use super::*;

    fn sold(end_us: u64, sku: u32, left: i64) -> Call {
        Call {
            arrival: 0,
            start_us: 0,
            end_us,
            answer: Answer {
                outcome: Outcome::Success,
                attempts: 2,
                conflicts: 1,
                levels: vec![(sku, left)],
            },
        }
    }

    #[test]
    fn levels_fall_to_the_lowest_answer_and_never_rise() {
        // 2 units of SKU 0 and 5 of SKU 1; answers arrive out of order.
        let calls = [
            sold(100, 0, 1),
            sold(150, 0, 0),
            sold(120, 0, 1),
            sold(900, 1, 4),
            sold(19_999, 1, 3),
        ];
        let t = Timeline::of(&calls, &[2, 5], None);
        assert_eq!(t.bucket_us, 200, "20 ms in 100 buckets");
        assert_eq!(t.start_available, 7);
        assert_eq!(t.buckets.len(), 100);
        assert_eq!(t.buckets[0].available, 5, "SKU 0 reached 0 in the first bucket");
        assert_eq!(t.buckets[0].commits, 3);
        assert_eq!((t.buckets[0].attempts, t.buckets[0].conflicts), (6, 3));
        assert_eq!(t.buckets[4].available, 4);
        assert_eq!(t.buckets[99].available, 3);
        assert_eq!(t.buckets.iter().map(|b| b.commits).sum::<u64>(), 5);
        assert_eq!(t.lowest(), 3);
    }

    #[test]
    fn an_oversold_level_dives_below_zero() {
        let calls: Vec<Call> = (0..10u32)
            .map(|i| sold(1_000 * u64::from(i + 1), 0, 4 - i64::from(i)))
            .collect();
        let t = Timeline::of(&calls, &[5], None);
        assert_eq!(t.lowest(), -5);
        assert_eq!(t.buckets.last().unwrap().available, -5);
        // Levels of SKUs not in the race are ignored, not a panic.
        let stray = Timeline::of(&[sold(10, 7, -100)], &[5], None);
        assert_eq!(stray.lowest(), 5);
        assert!(Timeline::of(&[], &[5], None).buckets.is_empty());
    }

    /// With the engine's counters sampled, effort lands when it happened, not when the call
    /// that made it was answered; every attempt is counted exactly once.
    #[test]
    fn sampled_effort_is_placed_when_it_happened() {
        let sample = |t_us, attempts, conflicts| Sample {
            t_us,
            attempts,
            conflicts,
        };
        // Counters started at 50/10 (earlier traffic); the one call answers at 19.9 ms.
        let samples = [
            sample(0, 50, 10),
            sample(150, 53, 11),
            sample(1_100, 60, 15),
            sample(19_950, 70, 20),
            sample(20_100, 71, 20),
        ];
        let t = Timeline::of(&[sold(19_900, 0, 0)], &[1], Some(&samples));
        assert_eq!((t.buckets[0].attempts, t.buckets[0].conflicts), (3, 1));
        assert_eq!((t.buckets[5].attempts, t.buckets[5].conflicts), (7, 4));
        let last = t.buckets.last().unwrap();
        assert_eq!((last.attempts, last.conflicts, last.commits), (11, 5, 1));
        assert_eq!(t.buckets.iter().map(|b| b.attempts).sum::<u64>(), 21);
        assert_eq!(t.buckets.iter().map(|b| b.conflicts).sum::<u64>(), 10);
    }
}
