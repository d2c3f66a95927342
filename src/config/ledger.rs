//! Settings of the ledger projector (`serve --ledger on`, `stockwatch ledger`).

use crate::convert;
use crate::ledger::{FaultHook, FaultPoint, LedgerConfig};
use clap::Args;
use secrecy::SecretString;
use std::time::Duration;

/// How the projector reads the feed and writes PostgreSQL.
#[derive(Debug, Clone, Args)]
pub struct LedgerArgs {
    /// Run a projector in this process (with `--ledger-url`). Off: only write the feed,
    /// for `stockwatch ledger` processes elsewhere to project.
    #[arg(long = "ledger", env = "STOCKWATCH_LEDGER", default_value = "on", value_parser = ["on", "off"])]
    pub ledger_mode: String,
    /// Most entries read from one slot's feed per round (a round's reads are written in one
    /// SQL transaction). Large batches are what let the books keep up (BENCHMARKS.md).
    #[arg(long, env = "STOCKWATCH_LEDGER_BATCH", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub ledger_batch: u64,
    /// Sleep when the feed is empty, milliseconds.
    #[arg(long, env = "STOCKWATCH_LEDGER_POLL_MS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub ledger_poll_ms: u64,
    /// How often every listed slot is read, hinted or not (and lag measured, the feed
    /// trimmed, idle consumers' entries claimed), milliseconds.
    #[arg(long, env = "STOCKWATCH_LEDGER_FULL_PASS_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub ledger_full_pass_ms: u64,
    /// An entry delivered to a consumer that has not acknowledged it for this long is
    /// claimed by another (XAUTOCLAIM): the bound on a dead projector's backlog, ms.
    #[arg(long, env = "STOCKWATCH_LEDGER_CLAIM_IDLE_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub ledger_claim_idle_ms: u64,
    /// Tries of an entry PostgreSQL refuses before it goes to the dead-letter stream.
    #[arg(long, env = "STOCKWATCH_LEDGER_MAX_TRIES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub ledger_max_tries: u32,
    /// Log a warning while the ledger is further behind than this, seconds.
    #[arg(long, env = "STOCKWATCH_LEDGER_LAG_WARN_S", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub ledger_lag_warn_s: u64,
    /// With the ledger on: how long an order stays in Redis once it is in PostgreSQL, in
    /// hours (fractions allowed); `GET /v1/orders/{id}` then answers from PostgreSQL.
    /// Unset: orders stay in Redis.
    #[arg(long, env = "STOCKWATCH_ORDER_RETENTION_HOURS")]
    pub order_retention_hours: Option<f64>,
}

impl LedgerArgs {
    /// The projector settings, or why they are wrong.
    pub fn config(&self, url: &SecretString) -> Result<LedgerConfig, String> {
        let retention = match self.order_retention_hours {
            None => None,
            Some(h) if h.is_finite() && h > 0.0 && h <= 24.0 * 3650.0 => Some(Duration::from_secs_f64(h * 3600.0)),
            Some(h) => {
                return Err(format!(
                    "--order-retention-hours {h}: must be above 0 and at most ten years"
                ));
            }
        };
        Ok(LedgerConfig {
            url: url.clone(),
            batch: convert::usize_of(self.ledger_batch),
            poll: Duration::from_millis(self.ledger_poll_ms),
            full_pass: Duration::from_millis(self.ledger_full_pass_ms),
            claim_idle: Duration::from_millis(self.ledger_claim_idle_ms),
            max_tries: self.ledger_max_tries,
            lag_warn: Duration::from_secs(self.ledger_lag_warn_s),
            order_retention: retention,
            fault: crash_for_tests(),
        })
    }

    /// Whether this process should project.
    pub fn on(&self) -> bool {
        self.ledger_mode == "on"
    }
}

/// The crash tests' fault (`STOCKWATCH_LEDGER_FAULT=abort-before-commit` or
/// `abort-after-commit`, not a flag): the process aborts at that point of a batch, as if
/// killed with `kill -9`, so the tests can show both windows replay nothing twice and skip
/// nothing.
fn crash_for_tests() -> FaultHook {
    let Ok(wanted) = std::env::var("STOCKWATCH_LEDGER_FAULT") else {
        return FaultHook::default();
    };
    let Some(point) = FaultPoint::ALL
        .into_iter()
        .find(|p| wanted == format!("abort-{}", p.name()))
    else {
        return FaultHook::default();
    };
    FaultHook::new(move |at| {
        if at == point {
            eprintln!("stockwatch ledger: STOCKWATCH_LEDGER_FAULT={wanted}: aborting");
            std::process::abort();
        }
    })
}
