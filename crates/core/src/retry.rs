//! Retry timing for optimistic transactions, below the store (whose settings carry it) and
//! the engine (which follows it). The four jitter formulas come from AWS's
//! "Exponential Backoff and Jitter" (docs/DESIGN.md, sections 6 and 7); `backon` drives the loop and the
//! sleeping, this module only says how long each sleep is and when to stop.

use crate::convert;
use rand::Rng;
use std::time::{Duration, Instant};

/// How a delay is randomised, so contenders that collided once do not collide again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    /// `expo(n)`: everyone wakes together; kept to show why that is bad.
    None,
    /// `U(0, expo(n))`: the least total work in AWS's simulation. The default.
    Full,
    /// `expo(n)/2 + U(0, expo(n)/2)`: never retries almost at once.
    Equal,
    /// `min(cap, U(base, 3 * previous))`: grows from the last sleep, not the attempt count.
    Decorrelated,
}

impl Jitter {
    /// The lowercase name used in flags and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Full => "full",
            Self::Equal => "equal",
            Self::Decorrelated => "decorrelated",
        }
    }
}

/// When and how often a conflicted transaction is tried again.
///
/// Defaults: full jitter, base 1 ms, cap 50 ms, at most 12 attempts within 1 s. A Redis round
/// trip on loopback is ~0.1 ms, so a 1 ms base already spreads contenders well; the 1 s budget
/// leaves room inside the 2 s response timeout to answer `503 contention` rather than time out.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RetryPolicy {
    /// How each delay is randomised.
    pub jitter: Jitter,
    /// The first delay, before jitter.
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
    /// Attempts in all, the first included; 1 means "never retry".
    pub max_attempts: u32,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            jitter: Jitter::Full,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(50),
            max_attempts: 12,
            max_elapsed: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// A fresh delay sequence for one transaction; pass it to `backon`'s `retry`.
    pub fn backoff(&self) -> JitteredBackoff {
        JitteredBackoff {
            policy: *self,
            retries: 0,
            previous: self.base,
            started: Instant::now(),
        }
    }

    /// `min(cap, base * 2^n)`, saturating instead of overflowing for large n.
    fn expo(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before retry number `n` (0-based), given the previous delay.
    pub fn delay(&self, n: u32, previous: Duration, rng: &mut impl Rng) -> Duration {
        let uniform = |rng: &mut dyn rand::RngCore, lo: Duration, hi: Duration| {
            if hi <= lo {
                lo
            } else {
                Duration::from_nanos(rng.random_range(convert::nanos(lo)..=convert::nanos(hi)))
            }
        };
        let expo = self.expo(n);
        match self.jitter {
            Jitter::None => expo,
            Jitter::Full => uniform(rng, Duration::ZERO, expo),
            Jitter::Equal => expo / 2 + uniform(rng, Duration::ZERO, expo / 2),
            Jitter::Decorrelated => uniform(rng, self.base, previous.saturating_mul(3)).min(self.cap),
        }
    }
}

/// When a SKU's conflicts are worth an alert (`contention`, in seed 001's spirit): over each
/// `window`, once a SKU saw at least `min_attempts` transaction attempts, `rate` or more of
/// them conflicting raises the alert once; it is raised again only after a window below.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContentionAlert {
    /// Conflicts per attempt that raise it, 0..=1; 0 turns it off.
    pub rate: f64,
    /// How long each count runs.
    pub window: std::time::Duration,
    /// Attempts a window needs before its rate means anything.
    pub min_attempts: u32,
}

impl Default for ContentionAlert {
    fn default() -> Self {
        Self {
            rate: 0.5,
            window: std::time::Duration::from_secs(10),
            min_attempts: 20,
        }
    }
}

/// A cap on retries across all calls, after Finagle's `RetryBudget` and gRPC's retry
/// throttling: over a sliding window of [`RetryBudget::WINDOW`], retries may be at most
/// `percent` % of first attempts, plus `min_per_sec` a second. A conflicted transaction
/// that finds the budget spent is not retried; its caller gets `503 contention`, as when
/// its own attempts run out. First attempts are never throttled. `0` and `0` never retry.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RetryBudget {
    /// Retries allowed per 100 first attempts (0 to 100,000).
    pub percent: f32,
    /// Retries allowed each second on top, so a quiet service can still retry.
    pub min_per_sec: u32,
}

impl RetryBudget {
    /// How long a first attempt counts towards the budget (Finagle's and tower's default).
    pub const WINDOW: Duration = Duration::from_secs(10);
    /// Largest `percent` the token bucket takes (1000 retries per first attempt).
    pub const MAX_PERCENT: f32 = 100_000.0;

    /// A live bucket with this budget, shared by every transaction of one store.
    pub fn bucket(&self) -> Budget {
        let percent = self.percent.clamp(0.0, Self::MAX_PERCENT);
        Budget(tower::retry::budget::TpsBudget::new(
            Self::WINDOW,
            self.min_per_sec,
            percent / 100.0,
        ))
    }
}

/// The running account of a [`RetryBudget`]: `tower`'s `TpsBudget`, a token bucket whose
/// deposits expire after the window.
#[derive(Debug)]
pub struct Budget(tower::retry::budget::TpsBudget);

impl Budget {
    /// Counts a first attempt.
    pub fn deposit(&self) {
        tower::retry::budget::Budget::deposit(&self.0);
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub fn withdraw(&self) -> bool {
        tower::retry::budget::Budget::withdraw(&self.0)
    }
}

/// The delays of one transaction's retries; ends when attempts or time run out.
#[derive(Debug)]
pub struct JitteredBackoff {
    policy: RetryPolicy,
    retries: u32,
    previous: Duration,
    started: Instant,
}

impl Iterator for JitteredBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.retries + 1 >= self.policy.max_attempts {
            return None;
        }
        let delay = self.policy.delay(self.retries, self.previous, &mut rand::rng());
        if self.started.elapsed() + delay > self.policy.max_elapsed {
            return None;
        }
        self.retries += 1;
        self.previous = delay;
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh bucket of this budget after `first_attempts` deposits, and how many of up to
    /// 1,000 retries it then allows.
    fn retries_allowed(percent: f32, min_per_sec: u32, first_attempts: usize) -> usize {
        let bucket = RetryBudget { percent, min_per_sec }.bucket();
        (0..first_attempts).for_each(|_| bucket.deposit());
        (0..1000).take_while(|_| bucket.withdraw()).count()
    }

    #[tokio::test]
    async fn a_budget_allows_its_share_of_first_attempts_and_no_more() {
        assert_eq!(retries_allowed(0.0, 0, 100), 0, "0 % and 0/s never retries");
        assert_eq!(retries_allowed(20.0, 0, 100), 20, "20 % of 100 first attempts");
        assert_eq!(
            retries_allowed(0.0, 3, 0),
            30,
            "3 a second over the 10 s window, with no first attempts at all"
        );
    }

    fn policy(jitter: Jitter) -> RetryPolicy {
        RetryPolicy {
            jitter,
            base: Duration::from_millis(4),
            cap: Duration::from_millis(100),
            max_attempts: 50,
            max_elapsed: Duration::from_secs(3600),
        }
    }

    #[test]
    fn formulas_stay_in_their_bounds() {
        let mut rng = rand::rng();
        for n in 0..40 {
            let expo = policy(Jitter::None).expo(n);
            assert_eq!(
                expo,
                Duration::from_millis(4 * 2u64.pow(n.min(20))).min(Duration::from_millis(100))
            );
            assert_eq!(policy(Jitter::None).delay(n, expo, &mut rng), expo);
            let full = policy(Jitter::Full).delay(n, expo, &mut rng);
            assert!(full <= expo);
            let equal = policy(Jitter::Equal).delay(n, expo, &mut rng);
            assert!(equal >= expo / 2 && equal <= expo);
            let prev = Duration::from_millis(10);
            let dec = policy(Jitter::Decorrelated).delay(n, prev, &mut rng);
            assert!(dec >= Duration::from_millis(4) && dec <= Duration::from_millis(30));
        }
    }

    #[test]
    fn full_jitter_actually_varies() {
        let mut rng = rand::rng();
        let p = policy(Jitter::Full);
        let samples: std::collections::HashSet<_> = (0..50).map(|_| p.delay(5, Duration::ZERO, &mut rng)).collect();
        assert!(samples.len() > 10);
    }

    #[test]
    fn attempts_bound_the_retries() {
        let mut p = policy(Jitter::Full);
        p.max_attempts = 4;
        assert_eq!(p.backoff().count(), 3, "4 attempts = 3 retries");
        p.max_attempts = 1;
        assert_eq!(p.backoff().count(), 0);
    }

    #[test]
    fn elapsed_bounds_the_retries() {
        let mut p = policy(Jitter::None);
        p.max_elapsed = Duration::from_millis(30);
        // 4 + 8 + 16 = 28 ms fits; the next (32 ms) would not.
        assert_eq!(p.backoff().count(), 3);
    }
}
