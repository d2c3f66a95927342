//! Settings, layered: a flag beats its environment variable (`STOCKWATCH_*`, or
//! `REDIS_URL`), which beats the optional config file (`--config stockwatch.toml`), which
//! beats the documented default. `stockwatch serve --help` lists them all.
//!
//! The config file is TOML with the flags' names as keys (`pool-size = 50` or
//! `pool_size = 50`). Top-level keys apply to every subcommand that has that setting; a
//! `[serve]` (or `[verify]`, …) table applies to that subcommand only. File values become
//! clap defaults, so they pass the same validation as flags, and an unknown key or a bad
//! value stops the start with a message naming it.
//!
//! Why not a layering crate: clap has no config-file support of its own (clap-rs/clap#748
//! and discussion #2763 are still open), and `figment` merges its providers into a serde
//! struct *after* clap has parsed. File values would then skip each flag's value parser
//! and range (so `pool-size = 0` would need a second, serde-side check with different
//! messages), `--help` could not show a file's value as the default, and clap's
//! `ValueSource` could no longer tell `--print-config` where a value came from. Making file
//! values clap defaults keeps one parser per setting, in about 150 lines (`file.rs`).
//!
//! - this file: the command line's shape (`Cli`, `Command`) and loading it;
//! - `file.rs`: the config file, layered in as clap defaults, and `--print-config`;
//! - `args.rs`: the service's settings (Redis, retries, expiry, `serve`, `verify`, the worker);
//! - `harness.rs`: the bench, soak and demo subcommands;
//! - `ledger.rs`: the ledger projector's settings and `stockwatch ledger`;
//! - `keys.rs`: `stockwatch keys`, client API keys.

mod args;
mod catalog;
mod file;
#[cfg(feature = "tools")]
mod harness;
mod keys;
mod ledger;
mod webhooks;

pub use args::{BudgetPercent, ExpiryArgs, RedisArgs, RetryArgs, ServeArgs, VerifyArgs, WorkerArgs};
pub use args::{LedgerAction, LedgerCommandArgs};
pub use catalog::{ExportArgs, ImportArgs, RowFormat};
#[cfg(feature = "tools")]
pub use harness::{
    BenchArgs, BenchCommand, BotsArgs, DemoArgs, DemoCommand, RaceArgs, SoakArgs, Strategies, SweepArgs, WorkloadArgs,
};
pub use keys::{KeysAction, KeysArgs};
pub use ledger::LedgerArgs;
pub use webhooks::WebhookArgs;

use crate::telemetry::LogFormat;
use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use file::{config_path, describe, layer_file};
use std::ffi::OsString;
use std::path::PathBuf;

/// stockwatch: inventory and checkout on Redis that never oversells.
#[derive(Debug, Parser)]
#[command(name = "stockwatch", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
    /// Read settings from this TOML file; flags and environment variables take precedence.
    #[arg(long, global = true, env = "STOCKWATCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log lines as human-readable text or as JSON (level from RUST_LOG, default info).
    #[arg(
        long,
        global = true,
        env = "STOCKWATCH_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// Every setting of the subcommand as resolved, with where it came from (`--print-config`).
    #[arg(skip)]
    pub resolved: String,
}

impl Cli {
    /// Parses the process's arguments with the config file layered in; on an error, prints
    /// it and exits (status 2), as clap does.
    pub fn load() -> Self {
        Self::load_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// [`Cli::load`] for explicit arguments.
    pub fn load_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let mut cmd = Self::command();
        let mut from_file = Vec::new();
        if let Some(path) = config_path(&args) {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| cmd.error(ErrorKind::Io, format!("config file {}: {e}", path.display())))?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| cmd.error(ErrorKind::InvalidValue, format!("config file {}: {e}", path.display())))?;
            cmd = layer_file(cmd, &table, &path, &mut from_file)?;
        }
        let matches = cmd.try_get_matches_from_mut(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        cli.resolved = describe(&cmd, &matches, &from_file);
        Ok(cli)
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once at start; boxing buys nothing")]
pub enum Command {
    /// Run the HTTP service (and, by default, an expiry worker).
    Serve(ServeArgs),
    /// Run only an expiry worker: releases lapsed reservations until SIGTERM/SIGINT.
    ExpiryWorker(WorkerArgs),
    /// Check every invariant of the contract over all SKUs; exit 1 naming what is broken.
    Verify(VerifyArgs),
    /// Load SKUs from an NDJSON or CSV file (or stdin), a row per SKU or SKU and location;
    /// exit 1 when some rows were refused.
    Import(ImportArgs),
    /// Write every SKU (levels per location, rules) as NDJSON or CSV rows to stdout.
    Export(ExportArgs),
    /// Run only a ledger projector (Redis feed to PostgreSQL), or manage its dead letters.
    Ledger(LedgerCommandArgs),
    /// Run one workload through broken, watch and lua, and measure each (`bench sweep`: a grid).
    #[cfg(feature = "tools")]
    Bench(BenchArgs),
    /// Teaching demos that make the race visible.
    #[cfg(feature = "tools")]
    Demo(DemoArgs),
    /// Make, list and revoke client API keys (`serve --require-keys`).
    Keys(KeysArgs),
    /// A long mixed workload against a running server; reports statuses, p99 over time,
    /// RSS growth, expired holds and a final verify (exit 1 when a target is missed).
    #[cfg(feature = "tools")]
    Soak(SoakArgs),
}
