//! `bench sweep --p99-target-ms T`: from a sweep's points, the retry settings (jitter, base,
//! cap) with the highest throughput whose p99 latency stays under T, and the fairness they
//! give. Throughput is orders per second: a buyer who gave up is not throughput.
//!
//! Load is not a setting: a shop does not choose its concurrency. So the overall pick must
//! meet the target at every concurrency level the sweep measured; the best setting at each
//! level is listed too, for a shop that knows its load.

use super::sweep::Point;
use crate::domain::Strategy;
use crate::retry::Jitter;
use std::fmt;

/// Retry settings, as the sweep varied them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// The jitter.
    pub jitter: Jitter,
    /// First backoff delay, ms.
    pub base_ms: f64,
    /// Longest backoff delay, ms.
    pub cap_ms: f64,
}

impl Setting {
    fn of(p: &Point) -> Self {
        Self {
            jitter: p.jitter,
            base_ms: p.base_ms,
            cap_ms: p.cap_ms,
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--jitter {} --base-ms {} --cap-ms {}",
            self.jitter.as_str(),
            self.base_ms,
            self.cap_ms
        )
    }
}

/// The setting that meets the target at every concurrency level, fastest on average.
#[derive(Debug, Clone, PartialEq)]
pub struct Overall {
    /// The settings.
    pub setting: Setting,
    /// Mean orders per second over the concurrency levels.
    pub mean_orders_per_s: f64,
    /// The highest p99 it had, ms.
    pub worst_p99_ms: f64,
    /// The highest `out_of_order` it had.
    pub worst_out_of_order: f64,
    /// The most attempts any buyer made at any level.
    pub max_attempts: u32,
}

/// What `--p99-target-ms` prints.
#[derive(Debug, Clone)]
pub struct Recommendation {
    /// The target, ms.
    pub target_ms: f64,
    /// The strategy whose retries were tuned (`watch`); `None` when the sweep ran none.
    pub strategy: Option<Strategy>,
    /// The overall pick, if any setting meets the target everywhere.
    pub overall: Option<Overall>,
    /// Per concurrency level, the fastest point under the target (if any).
    pub per_level: Vec<(usize, Option<Point>)>,
}

/// Picks from `points` (only `watch` retries, so only its points are weighed).
pub fn recommend(points: &[Point], target_ms: f64) -> Recommendation {
    let tuned: Vec<&Point> = points.iter().filter(|p| p.strategy == Strategy::Watch).collect();
    let meets = |p: &Point| p.result.latency_ms.p99 <= target_ms;
    let mut levels: Vec<usize> = tuned.iter().map(|p| p.concurrency).collect();
    levels.sort_unstable();
    levels.dedup();
    let per_level = levels
        .iter()
        .map(|&c| {
            let best = tuned
                .iter()
                .filter(|p| p.concurrency == c && meets(p))
                .max_by(|a, b| a.result.orders_per_s.total_cmp(&b.result.orders_per_s));
            (c, best.map(|p| (*p).clone()))
        })
        .collect();
    let mut settings: Vec<Setting> = Vec::new();
    for p in &tuned {
        if !settings.contains(&Setting::of(p)) {
            settings.push(Setting::of(p));
        }
    }
    let overall = settings
        .into_iter()
        .filter_map(|setting| {
            let at: Vec<&&Point> = tuned.iter().filter(|p| Setting::of(p) == setting).collect();
            let everywhere = at.len() == levels.len() && at.iter().all(|p| meets(p));
            everywhere.then(|| Overall {
                setting,
                mean_orders_per_s: at.iter().map(|p| p.result.orders_per_s).sum::<f64>() / at.len() as f64,
                worst_p99_ms: at.iter().map(|p| p.result.latency_ms.p99).fold(0.0, f64::max),
                worst_out_of_order: at.iter().map(|p| p.result.fairness.out_of_order).fold(0.0, f64::max),
                max_attempts: at.iter().map(|p| p.result.fairness.max_attempts).max().unwrap_or(0),
            })
        })
        .max_by(|a, b| a.mean_orders_per_s.total_cmp(&b.mean_orders_per_s));
    Recommendation {
        target_ms,
        strategy: (!tuned.is_empty()).then_some(Strategy::Watch),
        overall,
        per_level,
    }
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.target_ms;
        if self.strategy.is_none() {
            return writeln!(
                f,
                "No recommendation: only `watch` retries, and the sweep did not run it."
            );
        }
        writeln!(f, "Recommendation for p99 under {t} ms (watch; throughput = orders/s):")?;
        match &self.overall {
            Some(o) => writeln!(
                f,
                "  {}\n    meets the target at every concurrency measured: mean {:.0} orders/s, worst p99 {:.2} ms;\n    fairness: out_of_order up to {:.3}, max_attempts {}.",
                o.setting, o.mean_orders_per_s, o.worst_p99_ms, o.worst_out_of_order, o.max_attempts
            )?,
            None => writeln!(
                f,
                "  No setting keeps p99 under {t} ms at every concurrency measured: lower the load, raise the target, or use lua."
            )?,
        }
        writeln!(f, "Fastest under the target at each concurrency:")?;
        writeln!(
            f,
            "  {:>11}  {:<48} {:>9} {:>8} {:>12} {:>12}",
            "concurrency", "settings", "orders/s", "p99_ms", "out_of_order", "max_attempts"
        )?;
        for (c, best) in &self.per_level {
            match best {
                Some(p) => writeln!(
                    f,
                    "  {:>11}  {:<48} {:>9.0} {:>8.2} {:>12.3} {:>12}",
                    c,
                    Setting::of(p).to_string(),
                    p.result.orders_per_s,
                    p.result.latency_ms.p99,
                    p.result.fairness.out_of_order,
                    p.result.fairness.max_attempts
                )?,
                None => writeln!(f, "  {c:>11}  (nothing measured meets the target)")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{Percentiles, StrategyResult};
    use crate::race::{Fairness, Timeline};

    fn point(strategy: Strategy, jitter: Jitter, concurrency: usize, orders_per_s: f64, p99: f64) -> Point {
        Point {
            strategy,
            concurrency,
            jitter,
            base_ms: 1.0,
            cap_ms: 50.0,
            result: StrategyResult {
                strategy,
                successes: 1,
                customers: None,
                rejections: 0,
                give_ups: 0,
                limited: 0,
                errors: 0,
                oversold: 0,
                attempts: 1,
                conflicts: 0,
                conflict_rate: 0.0,
                attempts_per_success: 1.0,
                elapsed_s: 1.0,
                ops_per_s: orders_per_s,
                orders_per_s,
                latency_ms: Percentiles {
                    p99,
                    ..Percentiles::ZERO
                },
                fairness: Fairness {
                    out_of_order: p99 / 100.0,
                    served_out_of_order: 0,
                    max_attempts: crate::convert::u32_of(crate::convert::u64_from_f64(p99)),
                    winners_ms: None,
                    losers_ms: None,
                },
                timeline: Timeline {
                    bucket_us: 1,
                    start_available: 0,
                    buckets: Vec::new(),
                },
                redis_cpu_us_per_call: None,
                redis_cpu_us_per_success: None,
                group_commit: None,
                verified: None,
                ledger: None,
            },
        }
    }

    #[test]
    fn the_pick_is_the_fastest_setting_under_the_target_at_every_level() {
        use Jitter::*;
        let w = Strategy::Watch;
        let points = [
            // full: fastest at 10, but misses the target at 100.
            point(w, Full, 10, 9_000.0, 5.0),
            point(w, Full, 100, 8_000.0, 80.0),
            // equal: meets it at both.
            point(w, Equal, 10, 7_000.0, 6.0),
            point(w, Equal, 100, 6_000.0, 40.0),
            // none: meets it at both, slower.
            point(w, None, 10, 5_000.0, 4.0),
            point(w, None, 100, 5_000.0, 30.0),
            // lua has no retry settings: never weighed, however fast.
            point(Strategy::Lua, Full, 10, 90_000.0, 1.0),
        ];
        let r = recommend(&points, 50.0);
        let o = r.overall.as_ref().unwrap();
        assert_eq!(o.setting.jitter, Equal);
        assert_eq!((o.mean_orders_per_s, o.worst_p99_ms), (6_500.0, 40.0));
        assert_eq!((o.worst_out_of_order, o.max_attempts), (0.4, 40));
        let best: Vec<(usize, Option<Jitter>)> = r
            .per_level
            .iter()
            .map(|(c, p)| (*c, p.as_ref().map(|p| p.jitter)))
            .collect();
        assert_eq!(best, [(10, Some(Full)), (100, Some(Equal))]);
        let text = r.to_string();
        assert!(text.contains("--jitter equal --base-ms 1 --cap-ms 50"), "{text}");

        let strict = recommend(&points, 10.0);
        assert!(strict.overall.is_none());
        assert!(strict.per_level[1].1.is_none());
        assert!(strict.to_string().contains("No setting keeps p99 under 10 ms"));
        assert!(recommend(&points[6..], 50.0).strategy.is_none());
    }
}
