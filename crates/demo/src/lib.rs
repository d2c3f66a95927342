//! # stockwatch-demo: the race, made visible
//!
//! What the dashboard's rush and replay and `stockwatch demo race` show, and [`race`], who
//! won a race and how stock fell, which the bench reads too.
//!
//! Teaching demos: make the race visible.
//!
//! - [`rush`]: N buyers at once through one strategy (the terminal race, the dashboard).
//! - [`interleave`]: the lost update replayed command by command, the same on every run.
//! - [`bots`]: a drop with a per-customer limit, bots against people.
//!
//! Rendering for the terminal lives here too; colour only when stdout is a terminal.

#![recursion_limit = "256"]

pub mod race;

// The layers below, by the names this crate's modules use for them.
use stockwatch_core::{convert, domain, error, keys, outcome, retry};
use stockwatch_ops as ops;
use stockwatch_store as store;

pub mod bots;
pub mod interleave;
pub mod rush;

pub use bots::{Drop, DropResult, bots_table};
pub use interleave::{MAX_REPLAY_BUYERS, Mark, Replay, ReplayError, replay};
pub use rush::{MAX_BUYERS, Rush, RushResult, race_config};

use console::style;

/// The side-by-side table of `stockwatch demo race`.
pub fn race_table(results: &[RushResult]) -> String {
    let mut out = String::new();
    if let Some(first) = results.first() {
        out.push_str(&format!(
            "Black Friday: {} buyers, {} units of {:?}, all at once.\n\n",
            first.buyers, first.stock, first.sku
        ));
    }
    out.push_str(&format!(
        "{:<8} {:>7} {:>8} {:>7} {:>12} {:>9} {:>9} {:>10} {:>9}\n",
        "strategy", "orders", "refused", "errors", "final stock", "oversold", "attempts", "conflicts", "time"
    ));
    for r in results {
        let bad = r.oversold > 0 || r.final_stock < 0;
        let row = format!(
            "{:<8} {:>7} {:>8} {:>7} {:>12} {:>9} {:>9} {:>10} {:>7}ms",
            r.strategy, r.orders, r.refused, r.errors, r.final_stock, r.oversold, r.attempts, r.conflicts, r.elapsed_ms
        );
        let row = if bad {
            style(row).red().bold().to_string()
        } else {
            style(row).green().to_string()
        };
        out.push_str(&row);
        out.push('\n');
    }
    out.push('\n');
    let rows: Vec<(&str, &crate::race::Fairness)> =
        results.iter().map(|r| (r.strategy.as_str(), &r.fairness)).collect();
    out.push_str(&crate::race::fairness_table(&rows));
    out.push_str(
        "out_of_order: share of served buyers who arrived after someone was turned away \
         (0 = first come, first served).\n\n",
    );
    for r in results.iter().filter(|r| r.oversold > 0) {
        out.push_str(&format!(
            "{}: {} orders for {} units, {} oversold. Buyers read the stock, paused, then bought \
             what they had read; every buyer who saw \"1 left\" bought it.\n",
            style(&r.strategy).red().bold(),
            r.orders,
            r.stock,
            r.oversold
        ));
    }
    if results.iter().any(|r| r.strategy == "watch") {
        out.push_str(
            "watch: each EXEC commits only if the stock is unchanged since that buyer's WATCH; \
             the rest abort (conflicts) and retry with backoff.\n",
        );
    }
    if results.iter().any(|r| r.strategy == "lua") {
        out.push_str("lua: check and act run as one script that nothing can interleave with.\n");
    }
    out
}

/// The numbered timeline of one replay.
pub fn timeline(replay: &Replay, stock: i64) -> String {
    let mut out = format!(
        "{} — {} unit{} in stock\n",
        style(replay.strategy).bold(),
        stock,
        if stock == 1 { "" } else { "s" }
    );
    for s in &replay.steps {
        let note = s.note.as_deref().map(|n| format!("  ← {n}")).unwrap_or_default();
        let reply = if s.reply == "(nil)" {
            style(&s.reply).yellow().bold().to_string()
        } else {
            s.reply.clone()
        };
        // The steps the lesson turns on stand out (padded first: escapes have no width).
        let command = format!("{:<52}", s.command);
        let command = match s.mark {
            Some(Mark::StaleRead | Mark::StaleWrite) => style(command).red().bold().to_string(),
            Some(Mark::Aborted) => style(command).yellow().bold().to_string(),
            None => command,
        };
        out.push_str(&format!(
            "{:>3}  {}  {} → {}{}\n",
            s.n,
            style(&s.buyer).cyan().bold(),
            command,
            reply,
            style(note).dim()
        ));
    }
    let verdict = format!(
        "result: {} order{}, available {}, sold {}, oversold {}",
        replay.orders,
        if replay.orders == 1 { "" } else { "s" },
        replay.final_stock,
        replay.sold,
        replay.oversold
    );
    let verdict = if replay.oversold > 0 {
        style(verdict).red().bold().to_string()
    } else {
        style(verdict).green().bold().to_string()
    };
    out.push_str(&format!("     {verdict}   (took {} µs)\n", replay.elapsed_us));
    out
}
