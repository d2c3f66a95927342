//! `stockwatch bench sweep`: the workload over a grid of concurrency × jitter × base × cap
//! (and strategy), written as CSV and plotted, so retry settings are chosen from
//! measurements; [`recommend()`](super::recommend::recommend) picks the fastest settings that keep p99 under a target.

use super::{Driver, StrategyResult, Workload, run_strategy};
use crate::ToolError;
use crate::domain::Strategy;
use crate::plot::{Key, LEGEND_WIDTH, draw_legend};
use crate::retry::{Jitter, RetryPolicy};
use crate::store::StoreConfig;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// The grid.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Strategies to run at each point.
    pub strategies: Vec<Strategy>,
    /// Buyers in flight.
    pub concurrency: Vec<usize>,
    /// Jitters.
    pub jitter: Vec<Jitter>,
    /// First backoff delays, ms.
    pub base_ms: Vec<f64>,
    /// Longest backoff delays, ms.
    pub cap_ms: Vec<f64>,
}

/// One measured point.
#[derive(Debug, Clone)]
pub struct Point {
    /// The strategy.
    pub strategy: Strategy,
    /// Buyers in flight.
    pub concurrency: usize,
    /// The jitter.
    pub jitter: Jitter,
    /// The base delay, ms.
    pub base_ms: f64,
    /// The longest delay, ms.
    pub cap_ms: f64,
    /// What happened.
    pub result: StrategyResult,
}

/// Runs every point of `grid` (library mode: retry settings are per point) and writes
/// `sweep.csv` and the plots into `out`.
pub async fn run(
    redis: &crate::store::Target,
    base: &StoreConfig,
    workload: &Workload,
    grid: &Grid,
    out: &Path,
) -> Result<Vec<Point>, ToolError> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut points = Vec::new();
    let total =
        grid.strategies.len() * grid.concurrency.len() * grid.jitter.len() * grid.base_ms.len() * grid.cap_ms.len();
    let bar = super::progress_bar((total as u64) * workload.buyers, "sweep");
    let settings = grid
        .base_ms
        .iter()
        .flat_map(|&b| grid.cap_ms.iter().map(move |&c| (b, c)));
    for &strategy in &grid.strategies {
        for (base_ms, cap_ms) in settings.clone() {
            for &jitter in &grid.jitter {
                for &concurrency in &grid.concurrency {
                    let config = StoreConfig {
                        retry: RetryPolicy {
                            jitter,
                            base: Duration::from_secs_f64(base_ms / 1000.0),
                            cap: Duration::from_secs_f64(cap_ms / 1000.0),
                            ..base.retry
                        },
                        pool_size: base.pool_size.max(concurrency),
                        ..base.clone()
                    };
                    let driver = Driver::library(redis.clone(), config);
                    let w = Workload {
                        concurrency,
                        ..workload.clone()
                    };
                    let result = run_strategy(&driver, strategy, &w, &bar).await?;
                    points.push(Point {
                        strategy,
                        concurrency,
                        jitter,
                        base_ms,
                        cap_ms,
                        result,
                    });
                }
            }
        }
    }
    bar.finish_and_clear();
    std::fs::write(out.join("sweep.csv"), csv(&points))?;
    for (base_ms, cap_ms) in settings {
        let at: Vec<&Point> = points
            .iter()
            .filter(|p| p.base_ms == base_ms && p.cap_ms == cap_ms)
            .collect();
        // One cap keeps the historical file names that BENCHMARKS.md links to.
        let tag = match grid.cap_ms.len() {
            1 => format!("base{base_ms}ms"),
            _ => format!("base{base_ms}ms-cap{cap_ms}ms"),
        };
        plot(&at, &out.join(format!("throughput-{tag}.svg")), "buyers/s", |r| {
            r.ops_per_s
        })?;
        plot(
            &at,
            &out.join(format!("conflict-rate-{tag}.svg")),
            "conflict rate",
            |r| r.conflict_rate,
        )?;
        plot(
            &at,
            &out.join(format!("attempts-per-success-{tag}.svg")),
            "attempts per order",
            |r| r.attempts_per_success,
        )?;
    }
    Ok(points)
}

/// Every point as one CSV row.
pub fn csv(points: &[Point]) -> String {
    let mut s = String::from(
        "strategy,jitter,base_ms,cap_ms,concurrency,buyers_per_s,orders_per_s,successes,rejections,give_ups,oversold,errors,attempts,conflicts,conflict_rate,attempts_per_success,elapsed_s,p50_ms,p90_ms,p99_ms,p999_ms,out_of_order,max_attempts,winners_p50_ms,winners_p99_ms,losers_p50_ms,losers_p99_ms\n",
    );
    for p in points {
        let r = &p.result;
        let f = &r.fairness;
        // An empty cell when a race had no winners (or no losers).
        let latency = f
            .latency_columns()
            .map(|ms| ms.map_or(String::new(), |v| format!("{v:.3}")));
        let _ = writeln!(
            s,
            "{},{},{},{},{},{:.0},{:.0},{},{},{},{},{},{},{},{:.4},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.4},{},{}",
            p.strategy.as_str(),
            p.jitter.as_str(),
            p.base_ms,
            p.cap_ms,
            p.concurrency,
            r.ops_per_s,
            r.orders_per_s,
            r.successes,
            r.rejections,
            r.give_ups,
            r.oversold,
            r.errors,
            r.attempts,
            r.conflicts,
            r.conflict_rate,
            r.attempts_per_success,
            r.elapsed_s,
            r.latency_ms.p50,
            r.latency_ms.p90,
            r.latency_ms.p99,
            r.latency_ms.p999,
            f.out_of_order,
            f.max_attempts,
            latency.join(","),
        );
    }
    s
}

/// One line per (strategy, jitter): `metric` against concurrency.
fn plot(points: &[&Point], path: &Path, label: &str, metric: fn(&StrategyResult) -> f64) -> Result<(), ToolError> {
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    let x_max = points.iter().map(|p| p.concurrency).max().unwrap_or(1) as f64;
    let y_max = points.iter().map(|p| metric(&p.result)).fold(0.0, f64::max).max(1e-9) * 1.1;
    let root = SVGBackend::new(path, (900 + LEGEND_WIDTH, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    // The legend gets its own column: over the chart it would hide the lines.
    let (area, legend) = root.split_horizontally(900);
    let mut chart = ChartBuilder::on(&area)
        .caption(format!("{label} vs concurrency"), ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max * 1.05, 0.0..y_max)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("concurrent buyers")
        .y_desc(label)
        .draw()
        .map_err(|e| err(&e))?;
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for p in points {
        let name = format!("{} / {} jitter", p.strategy.as_str(), p.jitter.as_str());
        let xy = (p.concurrency as f64, metric(&p.result));
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(xy),
            None => series.push((name, vec![xy])),
        }
    }
    let mut keys = Vec::new();
    for (i, (name, mut xy)) in series.into_iter().enumerate() {
        xy.sort_by(|a, b| a.0.total_cmp(&b.0));
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(xy.clone(), color.stroke_width(2)))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(xy.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(|e| err(&e))?;
        keys.push(Key {
            name,
            color,
            dashed: false,
        });
    }
    draw_legend(&legend, &keys)?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
