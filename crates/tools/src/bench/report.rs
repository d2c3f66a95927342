//! The bench's outputs: a table for people, JSON for tools.

use super::{StrategyResult, Tuning, Workload};
use serde::Serializer;
use serde_json::{Value, json};

pub(super) fn display<T: std::fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// `{"config": {...}, "results": [...]}`.
pub fn to_json(workload: &Workload, tuning: Option<&Tuning>, target: &str, results: &[StrategyResult]) -> Value {
    let mut config = serde_json::to_value(workload).expect("workload serializes");
    config["target"] = json!(target);
    if let Some(t) = tuning {
        config["batching"] = json!(t.batching);
        config["jitter"] = json!(t.retry.jitter.as_str());
        config["base_ms"] = json!(t.retry.base.as_secs_f64() * 1000.0);
        config["cap_ms"] = json!(t.retry.cap.as_secs_f64() * 1000.0);
        config["max_attempts"] = json!(t.retry.max_attempts);
        config["retry_budget_percent"] = json!(t.budget.map(|b| b.percent));
        config["retry_budget_min_per_s"] = json!(t.budget.map(|b| b.min_per_sec));
    }
    json!({ "config": config, "results": results })
}

/// One row per strategy, then who won (the fairness figures).
pub fn print_table(results: &[StrategyResult]) {
    print_effort(results);
    for r in results {
        if let Some(l) = &r.ledger {
            println!(
                "ledger {:<6} {} entries, {:.0} entries/s, {:.0} rows/s into PostgreSQL; lag p99 {} entries ({:.2} s), max {}; drained {:.2} s after the last call",
                r.strategy.as_str(),
                l.entries,
                l.entries_per_s,
                l.rows_per_s,
                l.lag_p99_entries,
                l.lag_p99_s,
                l.lag_max_entries,
                l.drain_s
            );
        }
    }
    for r in results {
        if let Some(c) = &r.customers {
            println!(
                "customers {:<6} {} of {} got units; the most any one got: {}; refused by the sale's rules: {}",
                r.strategy.as_str(),
                c.served,
                c.customers,
                c.most_units,
                r.limited
            );
        } else if r.limited > 0 {
            println!(
                "limited {:<6} {} refused by the sale's rules",
                r.strategy.as_str(),
                r.limited
            );
        }
    }
    let rows: Vec<(&str, &crate::race::Fairness)> =
        results.iter().map(|r| (r.strategy.as_str(), &r.fairness)).collect();
    println!("\n{}", crate::race::fairness_table(&rows));
}

fn print_effort(results: &[StrategyResult]) {
    println!(
        "{:<8} {:>9} {:>9} {:>8} {:>8} {:>9} {:>10} {:>10} {:>7} {:>7} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>11} {:>6} {:>9}",
        "strategy",
        "successes",
        "rejected",
        "give_ups",
        "oversold",
        "errors",
        "attempts",
        "conflicts",
        "c_rate",
        "att/ok",
        "ops/s",
        "orders/s",
        "p50ms",
        "p90ms",
        "p99ms",
        "p99.9ms",
        "redis_us/op",
        "batch",
        "batches/s"
    );
    for r in results {
        println!(
            "{:<8} {:>9} {:>9} {:>8} {:>8} {:>9} {:>10} {:>10} {:>7.3} {:>7.2} {:>10.0} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>11} {:>6} {:>9}",
            r.strategy.as_str(),
            r.successes,
            r.rejections,
            r.give_ups,
            r.oversold,
            r.errors,
            r.attempts,
            r.conflicts,
            r.conflict_rate,
            r.attempts_per_success,
            r.ops_per_s,
            r.orders_per_s,
            r.latency_ms.p50,
            r.latency_ms.p90,
            r.latency_ms.p99,
            r.latency_ms.p999,
            r.redis_cpu_us_per_call.map_or("-".into(), |us| format!("{us:.1}")),
            r.group_commit.map_or("-".into(), |g| format!("{:.1}", g.mean_size)),
            r.group_commit.map_or("-".into(), |g| format!("{:.0}", g.batches_per_s)),
        );
    }
}
