//! The benchmark harness: one closed-loop workload, run through each strategy.
//!
//! `concurrency` buyers loop until `buyers` purchases (or checkouts, or reservations) have
//! been made, against stock set fresh for each strategy. Each strategy is measured on what
//! actually happened: outcomes by kind, attempts and conflicts (from the store's counters,
//! or from the answers over HTTP), latency in an HDR histogram, and oversold units read back
//! from Redis afterwards, never assumed.
//!
//! [`Driver`] is where the buyers go: the library directly, or a running server over HTTP.

mod customers;
mod driver;
pub mod floor;
mod ledger;
pub mod recommend;
mod report;
mod stocking;
pub use customers::Customers;
pub mod sweep;

pub use driver::Driver;
pub use ledger::LedgerFigures;
pub use report::{print_table, to_json};

use crate::ToolError;
use crate::domain::{Strategy, TtlSeconds};
pub use crate::race::Percentiles;
use crate::race::{Call, Clock, Fairness, Outcome, Timeline};
use crate::retry::RetryPolicy;
use futures_util::future::join_all;
use rand::Rng;
use rand::SeedableRng;
use rand_distr::Distribution as _;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which operation every buyer performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `POST /v1/purchases`: one unit of one SKU.
    Purchase,
    /// `POST /v1/checkouts`: one unit of each of `cart_size` SKUs, all or nothing.
    Checkout,
    /// `POST /v1/reservations`: a hold on `cart_size` SKUs (10 minute TTL).
    Reserve,
}

/// How buyers pick SKUs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Distribution {
    /// Every SKU equally likely.
    Uniform,
    /// Zipf with exponent `s`: a few SKUs get most buyers (s = 1.1 is a typical shop).
    Zipf(f64),
}

impl Distribution {
    /// `uniform` or `zipf:<s>` with s > 0.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.split_once(':') {
            None if raw == "uniform" => Ok(Self::Uniform),
            Some(("zipf", s)) => match s.parse::<f64>() {
                Ok(s) if s > 0.0 && s.is_finite() => Ok(Self::Zipf(s)),
                _ => Err(format!("zipf exponent {s:?} must be a positive number")),
            },
            _ => Err(format!("distribution {raw:?} must be uniform or zipf:<s>")),
        }
    }
}

impl std::fmt::Display for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Uniform => f.write_str("uniform"),
            Self::Zipf(s) => write!(f, "zipf:{s}"),
        }
    }
}

/// One workload.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// The operation.
    pub op: Op,
    /// Buyers in all (each makes one call).
    pub buyers: u64,
    /// Units of each SKU set before each strategy runs.
    pub stock: i64,
    /// SKUs in play.
    pub skus: usize,
    /// How buyers pick SKUs.
    #[serde(serialize_with = "report::display")]
    pub distribution: Distribution,
    /// Buyers in flight at once (closed loop).
    pub concurrency: usize,
    /// Lines per checkout or reservation.
    pub cart_size: usize,
    /// Named locations each SKU's stock is split over (0: a v1 SKU, all in `default`).
    pub locations: usize,
    /// Whether each SKU has alert rules, so every take also checks for a crossing.
    pub alerts: bool,
    /// Whether each SKU has a drop's sale settings (an open window and a limit no buyer
    /// reaches), so every take reads Redis's clock and its customer's count.
    pub sale: bool,
    /// Customers the buyers are (buyer i is customer i mod n): bots that each send many
    /// requests. 0: every buyer is one customer, `bench`.
    pub customers: u64,
    /// A per-customer limit on every SKU (a sale like `sale`'s, with this limit).
    pub per_customer_limit: Option<i64>,
    /// A waiting room on every SKU, and every take carrying its admission (library mode):
    /// what checking an admission costs a take.
    pub queue: bool,
}

/// What one strategy did. Field names are the `--json` contract.
#[derive(Debug, Clone, Serialize)]
pub struct StrategyResult {
    /// `broken`, `watch` or `lua`.
    pub strategy: Strategy,
    /// Calls answered 201.
    pub successes: u64,
    /// With `--customers`: how many customers got units, and the most any one got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers: Option<Customers>,
    /// Refused for stock (409 insufficient_stock).
    pub rejections: u64,
    /// Retries exhausted (503 contention).
    pub give_ups: u64,
    /// Refused by a sale's rule: a customer's limit, the window, the waiting room.
    pub limited: u64,
    /// Anything else (timeouts, Redis errors); 0 on a healthy run.
    pub errors: u64,
    /// Units taken beyond what existed, read back from Redis afterwards.
    pub oversold: i64,
    /// Attempts by all buyers (a group commit attempt counts once per buyer it carries).
    pub attempts: u64,
    /// Attempts aborted by a conflict.
    pub conflicts: u64,
    /// conflicts / attempts.
    pub conflict_rate: f64,
    /// attempts / successes.
    pub attempts_per_success: f64,
    /// Wall time of the buying, seconds.
    pub elapsed_s: f64,
    /// Buyers finished per second, any outcome.
    pub ops_per_s: f64,
    /// Successes per second.
    pub orders_per_s: f64,
    /// Latency percentiles, milliseconds.
    pub latency_ms: Percentiles,
    /// Who got the units: arrival order against who was served.
    pub fairness: Fairness,
    /// Stock, commits, attempts and conflicts over the run, from the buyers' answers.
    pub timeline: Timeline,
    /// Redis CPU time (user + sys, every node) per call, in microseconds, from `INFO CPU`
    /// read right before the first call and right after the last: setup and verification
    /// are outside the window. Library mode only. The sizing figure: a master serves about
    /// 1e6 / this many calls a second per core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_cpu_us_per_call: Option<f64>,
    /// The same per successful call (per order or hold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_cpu_us_per_success: Option<f64>,
    /// Group commits in the timed window, when the strategy batches (library mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_commit: Option<GroupCommits>,
    /// Whether `verify` passed afterwards (library mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// What the ledger's projector kept up with, when the run had one (`--ledger-url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerFigures>,
}

/// Where group commit's throughput comes from: throughput = mean batch size × batches/s.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GroupCommits {
    /// Transactions (`watch`) or script calls (`lua`) that carried takes.
    pub batches: u64,
    /// Takes per batch, on average.
    pub mean_size: f64,
    /// Batches per second of the timed window.
    pub batches_per_s: f64,
}

/// Runs `workload` through one strategy on fresh stock. `progress` is advanced per buyer.
pub async fn run_strategy(
    driver: &Driver,
    strategy: Strategy,
    workload: &Workload,
    progress: &indicatif::ProgressBar,
) -> Result<StrategyResult, ToolError> {
    let run = driver.prepare(strategy, workload).await?;
    let run = Arc::new(run);
    let next = Arc::new(AtomicU64::new(0));
    let before = run.effort_counter();
    let books = match (driver, run.store()) {
        (
            Driver::Library {
                ledger: Some(config), ..
            },
            Some(store),
        ) => Some(ledger::Follow::start(store, config).await?),
        _ => None,
    };
    let cpu_before = run.redis_cpu_s().await;
    let batches_before = run.group_commits(strategy);
    let clock = Arc::new(Clock::start());
    let workers = (0..workload.concurrency.max(1)).map(|w| {
        let (run, next, workload, progress, clock) = (
            run.clone(),
            next.clone(),
            workload.clone(),
            progress.clone(),
            clock.clone(),
        );
        tokio::spawn(async move {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(w as u64 ^ 0x5eed);
            let zipf = match workload.distribution {
                Distribution::Zipf(s) => Some(rand_distr::Zipf::new(workload.skus as f64, s).expect("valid zipf")),
                Distribution::Uniform => None,
            };
            let mut calls = Vec::new();
            // The customer of each success (with `--customers`).
            let mut wins = Vec::new();
            loop {
                let buyer = next.fetch_add(1, Ordering::Relaxed);
                if buyer >= workload.buyers {
                    break;
                }
                let lines = match workload.op {
                    Op::Purchase => 1,
                    Op::Checkout | Op::Reserve => workload.cart_size.clamp(1, workload.skus),
                };
                let mut cart: Vec<usize> = Vec::with_capacity(lines);
                while cart.len() < lines {
                    let i = match &zipf {
                        Some(z) => {
                            crate::convert::usize_of(crate::convert::u64_from_f64(z.sample(&mut rng)))
                                .clamp(1, workload.skus)
                                - 1
                        }
                        None => rng.random_range(0..workload.skus),
                    };
                    if !cart.contains(&i) {
                        cart.push(i);
                    }
                }
                let call = clock.time(run.call(&cart, buyer)).await;
                if workload.customers > 0 && call.answer.outcome == Outcome::Success {
                    wins.push(buyer % workload.customers);
                }
                calls.push(call);
                progress.inc(1);
            }
            (calls, wins)
        })
    });
    let counters = || {
        let s = run.live_counter().unwrap_or_default();
        (s.attempts, s.conflicts)
    };
    // The workers are spawned inside the sampled future, after its first sample: spawned
    // any earlier, one could make an attempt before the sampler's baseline.
    let (joined, effort) = crate::race::sampled(&clock, counters, async move { join_all(workers).await }).await;
    let mut calls: Vec<Call> = Vec::with_capacity(crate::convert::usize_of(workload.buyers));
    let mut wins = Vec::new();
    for joined in joined {
        let (c, w) = joined.map_err(|e| format!("a buyer task failed: {e}"))?;
        calls.extend(c);
        wins.extend(w);
    }
    let lines = match workload.op {
        Op::Purchase => 1,
        Op::Checkout | Op::Reserve => workload.cart_size.clamp(1, workload.skus),
    };
    let customers = Customers::of(
        workload.customers,
        &wins,
        crate::convert::u64_of(crate::convert::i64_of(lines)),
    );
    let elapsed = clock.now_us() as f64 / 1e6;
    let redis_cpu_us = match (cpu_before, run.redis_cpu_s().await) {
        (Some(b), Some(a)) => Some((a - b).max(0.0) * 1e6),
        _ => None,
    };
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let group_commit = match (batches_before, run.group_commits(strategy)) {
        (Some((b0, t0)), Some((b1, t1))) if b1 > b0 => Some(GroupCommits {
            batches: b1 - b0,
            mean_size: ratio((t1 - t0) as f64, (b1 - b0) as f64),
            batches_per_s: ratio((b1 - b0) as f64, elapsed),
        }),
        _ => None,
    };
    // The store's counters when the library ran (a group commit attempt counted per buyer),
    // otherwise what each answer reported.
    let (attempts, conflicts) = match (before, run.effort_counter()) {
        (Some(b), Some(a)) => (a.attempts - b.attempts, a.conflicts - b.conflicts),
        _ => calls.iter().fold((0, 0), |(a, c), call| {
            (
                a + u64::from(call.answer.attempts),
                c + u64::from(call.answer.conflicts),
            )
        }),
    };
    let ledger = match books {
        Some(books) => Some(books.finish().await?),
        None => None,
    };
    let (oversold, verified) = run.audit().await?;
    run.clean_up().await;
    let [successes, rejections, give_ups, limited, errors] = [
        Outcome::Success,
        Outcome::Rejected,
        Outcome::GaveUp,
        Outcome::Limited,
        Outcome::Failed,
    ]
    .map(|o| crate::race::count(&calls, o));
    Ok(StrategyResult {
        strategy,
        successes,
        customers,
        rejections,
        give_ups,
        limited,
        errors,
        oversold,
        attempts,
        conflicts,
        conflict_rate: ratio(conflicts as f64, attempts as f64),
        attempts_per_success: ratio(attempts as f64, successes as f64),
        elapsed_s: elapsed,
        ops_per_s: ratio(workload.buyers as f64, elapsed),
        orders_per_s: ratio(successes as f64, elapsed),
        latency_ms: Percentiles::of_us(calls.iter().map(Call::latency_us)).unwrap_or(Percentiles::ZERO),
        fairness: Fairness::of(&calls),
        timeline: Timeline::of(
            &calls,
            &vec![workload.stock; workload.skus],
            before.is_some().then_some(effort.as_slice()),
        ),
        redis_cpu_us_per_call: redis_cpu_us.map(|us| ratio(us, workload.buyers as f64)),
        redis_cpu_us_per_success: redis_cpu_us.map(|us| ratio(us, successes as f64)),
        group_commit,
        verified,
        ledger,
    })
}

/// Settings that shape the `watch` path, reported with the results.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tuning {
    /// Group commit on or off (library mode; a server uses its own setting).
    pub batching: bool,
    /// The retry policy (library mode).
    pub retry: RetryPolicy,
    /// The retry budget across calls (library mode; `None`: off).
    pub budget: Option<crate::retry::RetryBudget>,
}

/// How long a benchmark reservation holds: long enough never to lapse during a run.
pub(crate) const HOLD: TtlSeconds = TtlSeconds::DEFAULT;

/// A progress bar on stderr when it is a terminal, hidden otherwise.
pub fn progress_bar(len: u64, label: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} {per_sec} {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_parse() {
        assert_eq!(Distribution::parse("uniform").unwrap(), Distribution::Uniform);
        assert_eq!(Distribution::parse("zipf:1.1").unwrap(), Distribution::Zipf(1.1));
        for bad in ["zipf", "zipf:0", "zipf:-1", "zipf:x", "normal"] {
            assert!(Distribution::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Distribution::Zipf(1.1).to_string(), "zipf:1.1");
    }
}
