//! The ledger under a bench run: a projector follows the run's feed into PostgreSQL, and
//! what it kept up with is measured: entries and rows a second, lag while buying, and how
//! long the books take to catch up once the buying stops.

use crate::ToolError;
use crate::ledger::LedgerConfig;
use crate::store::Store;
use serde::Serialize;
use std::time::Duration;

/// How often lag is sampled. The projector measures it at each full pass (default 1 s):
/// measuring more often would cost Redis more than the books do, with thousands of slots.
const SAMPLE: Duration = Duration::from_millis(250);

/// What the ledger did during one strategy's run.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerFigures {
    /// Entries committed to PostgreSQL, from the first call until drained.
    pub entries: u64,
    /// Entries a second, from the first call until the books had everything.
    pub entries_per_s: f64,
    /// Rows written (orders, lines, movements, reservation states and transitions, and the
    /// entry log) a second, over the same span.
    pub rows_per_s: f64,
    /// Lag p99 while buying, in entries (sampled every 250 ms from the projector's passes).
    pub lag_p99_entries: u64,
    /// The largest lag sampled, entries.
    pub lag_max_entries: u64,
    /// Lag p99 in seconds (the age of the oldest entry not yet in PostgreSQL).
    pub lag_p99_s: f64,
    /// How long after the last call the books had every entry, seconds.
    pub drain_s: f64,
}

/// A projector following one run, and its lag samples.
pub(super) struct Follow {
    store: Store,
    pool: sqlx::PgPool,
    started: tokio::time::Instant,
    /// Rows in the books before the run (they may hold earlier runs).
    rows_before: i64,
    projector: tokio::task::JoinHandle<()>,
    sampler: tokio::task::JoinHandle<Vec<(u64, f64)>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Follow {
    /// Starts a projector and a lag sampler on `store`'s feed.
    pub(super) async fn start(store: &Store, config: &LedgerConfig) -> Result<Self, ToolError> {
        let config = config.clone();
        let pool = crate::ledger::pool(&config.url)?;
        crate::ledger::migrate(&pool).await?;
        let rows_before = rows(&pool).await?;
        let projector = tokio::spawn(crate::ledger::run(store.clone(), config, std::future::pending()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let metrics = store.clone();
        let sampler = tokio::spawn(async move {
            let mut samples = Vec::new();
            while !*stopped.borrow() {
                let ledger = &metrics.metrics().ledger;
                samples.push((
                    crate::convert::u64_of(ledger.lag_entries.get()),
                    ledger.lag_seconds.get(),
                ));
                tokio::time::sleep(SAMPLE).await;
            }
            samples
        });
        Ok(Self {
            store: store.clone(),
            pool,
            started: tokio::time::Instant::now(),
            rows_before,
            projector,
            sampler,
            stop,
        })
    }

    /// After the last call: waits (up to a minute) until the books have every entry, then
    /// stops the projector and reports.
    pub(super) async fn finish(self) -> Result<LedgerFigures, ToolError> {
        let bought = tokio::time::Instant::now();
        let _ = self.stop.send(true);
        let samples = self.sampler.await?;
        let ledger = self.store.metrics().ledger.clone();
        // Drained: a full pass that started after the last call saw nothing left. A pass
        // that ends after the call may have started before it, so wait for the second.
        let passes = ledger.full_passes.get();
        let mut drained = None;
        while bought.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if ledger.full_passes.get() >= passes + 2 && ledger.lag_entries.get() == 0 {
                drained = Some(bought.elapsed());
                break;
            }
        }
        self.projector.abort();
        let drained = drained.ok_or("the ledger did not catch up within a minute")?;
        let span = (bought - self.started + drained).as_secs_f64();
        let rows = rows(&self.pool).await? - self.rows_before;
        let entries = ledger.projected.get();
        let mut by_entries: Vec<u64> = samples.iter().map(|s| s.0).collect();
        let mut by_age: Vec<f64> = samples.iter().map(|s| s.1).collect();
        by_entries.sort_unstable();
        by_age.sort_by(f64::total_cmp);
        let p99 = |n: usize| n.saturating_sub(1).min(n * 99 / 100);
        Ok(LedgerFigures {
            entries,
            entries_per_s: entries as f64 / span,
            rows_per_s: rows as f64 / span,
            lag_p99_entries: by_entries.get(p99(by_entries.len())).copied().unwrap_or(0),
            lag_max_entries: by_entries.last().copied().unwrap_or(0),
            lag_p99_s: by_age.get(p99(by_age.len())).copied().unwrap_or(0.0),
            drain_s: drained.as_secs_f64(),
        })
    }
}

/// Rows in the books' tables (reservations counted by their transitions).
async fn rows(pool: &sqlx::PgPool) -> Result<i64, ToolError> {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM ledger_entries) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_lines)
              + (SELECT count(*) FROM movements) + (SELECT count(*) FROM reservation_transitions)",
    )
    .fetch_one(pool)
    .await
    .map_err(ToolError::from)
}
