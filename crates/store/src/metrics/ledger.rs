//! The ledger projector's metrics: how far the books are behind Redis, and what they took in.

use prometheus::{Gauge, IntCounter, IntGauge, Registry};

/// What `/metrics` shows of the ledger. Lag is measured by whichever projector in this
/// process last ran its full pass, over every slot's feed, so it counts other processes'
/// backlog too.
#[derive(Debug, Clone)]
pub struct LedgerMetrics {
    /// Entries in the feed that no projector has committed to PostgreSQL yet.
    pub lag_entries: IntGauge,
    /// Age of the oldest such entry, in seconds (0 when drained).
    pub lag_seconds: Gauge,
    /// Entries committed to PostgreSQL by this process (duplicates skipped are not counted).
    pub projected: IntCounter,
    /// Entries moved to the dead-letter streams by this process.
    pub dead_lettered: IntCounter,
    /// Entries now in the dead-letter streams, all processes'.
    pub dead_letters: IntGauge,
    /// Batches that PostgreSQL refused or could not take, retried after a back-off.
    pub batch_failures: IntCounter,
    /// 1 while a projector runs in this process (what the dashboard shows the lag for).
    pub projector: IntGauge,
    /// Full passes (every listed slot read, lag measured) this process's projector made.
    pub full_passes: IntCounter,
}

impl LedgerMetrics {
    pub(super) fn new(r: &Registry) -> Self {
        let int_gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            r.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            r.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let lag_seconds =
            Gauge::new("ledger_lag_seconds", "Age of the oldest entry not yet in PostgreSQL.").expect("valid metric");
        r.register(Box::new(lag_seconds.clone())).expect("unique metric");
        Self {
            lag_entries: int_gauge("ledger_lag_entries", "Feed entries not yet in PostgreSQL."),
            lag_seconds,
            projected: counter("ledger_projected_total", "Entries committed to PostgreSQL."),
            dead_lettered: counter(
                "ledger_dead_lettered_total",
                "Entries moved to the dead-letter streams.",
            ),
            dead_letters: int_gauge("ledger_dead_letters", "Entries now in the dead-letter streams."),
            batch_failures: counter(
                "ledger_batch_failures_total",
                "Projection batches that failed and were retried.",
            ),
            projector: int_gauge("ledger_projector", "1 while a ledger projector runs in this process."),
            full_passes: counter("ledger_full_passes_total", "Full passes over every listed slot's feed."),
        }
    }
}
