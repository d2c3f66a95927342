//! Settings, layered: a flag beats its environment variable (`STOCKWATCH_*`, or
//! `REDIS_URL`), which beats the optional config file (`--config stockwatch.toml`), which
//! beats the documented default. `stockwatch serve --help` lists them all.
//!
//! The config file is TOML with the flags' names as keys (`pool-size = 50` or
//! `pool_size = 50`). Top-level keys apply to every subcommand that has that setting; a
//! `[serve]` (or `[verify]`, …) table applies to that subcommand only. File values become
//! clap defaults, so they pass the same validation as flags, and an unknown key or a bad
//! value stops the start with a message naming it.

use crate::bench::{Distribution, Op, Workload};
use crate::domain::Strategy;
use crate::expiry::ExpiryConfig;
use crate::managed_redis::Persistence;
use crate::retry::{Jitter, RetryPolicy};
use crate::store::StoreConfig;
use crate::telemetry::LogFormat;
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

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

/// `name = value  # source` for every setting of the chosen subcommand (and the global
/// ones); secrets are shown as `<set>`.
fn describe(cmd: &clap::Command, matches: &clap::ArgMatches, from_file: &[String]) -> String {
    use clap::parser::ValueSource;
    let (cmd, sub) = match matches.subcommand() {
        Some((name, sub)) => (cmd.find_subcommand(name).unwrap_or(cmd), sub),
        None => (cmd, matches),
    };
    let mut lines = Vec::new();
    for arg in cmd.get_arguments() {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else {
            continue;
        };
        if matches!(long, "help" | "version" | "print-config") {
            continue;
        }
        let Some(source) = sub.value_source(id) else {
            lines.push(format!("{long} = (unset)"));
            continue;
        };
        let values: Vec<String> = sub
            .get_raw(id)
            .map(|v| v.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = if arg.is_hide_env_values_set() {
            "<set>".to_owned()
        } else {
            values.join(",")
        };
        let source = match source {
            ValueSource::CommandLine => "flag",
            ValueSource::EnvVariable => "env",
            ValueSource::DefaultValue if from_file.iter().any(|f| f == long) => "config file",
            _ => "default",
        };
        lines.push(format!("{long} = {value}  # {source}"));
    }
    lines.sort();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// `--config X`, `--config=X`, or `STOCKWATCH_CONFIG`, found before the real parse.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(arg) = it.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("STOCKWATCH_CONFIG").map(PathBuf::from)
}

/// A TOML value as the string a flag would carry (lists comma-separated).
fn flag_value(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| flag_value(v).filter(|_| !v.is_array() && !v.is_table()))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        toml::Value::Datetime(_) | toml::Value::Table(_) => None,
    }
}

/// Makes each file setting the default of the flag it names, in every (sub)command that
/// has it, after checking it with the flag's own parser.
fn layer_file(
    mut cmd: clap::Command,
    table: &toml::Table,
    path: &std::path::Path,
    from_file: &mut Vec<String>,
) -> Result<clap::Command, clap::Error> {
    let subcommands: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().to_owned()).collect();
    for (key, value) in table {
        if let (Some(section), toml::Value::Table(inner)) = (subcommands.iter().find(|s| *s == key), value) {
            let sub = cmd.find_subcommand(section).expect("listed above").clone();
            let sub = layer_file(sub, inner, path, from_file)?;
            cmd = cmd.mut_subcommand(section, |_| sub);
            continue;
        }
        let flag = key.replace('_', "-");
        let bad = |msg: String| {
            clap::Error::raw(
                ErrorKind::InvalidValue,
                format!("config file {}: {msg}\n", path.display()),
            )
        };
        let value =
            flag_value(value).ok_or_else(|| bad(format!("`{key}` must be a string, number, boolean or list")))?;
        let mut found = false;
        cmd = apply_default(cmd, &flag, &value, &mut found)
            .map_err(|e| bad(format!("`{key}` = {value:?}: {}", first_line(&e))))?;
        if !found {
            return Err(bad(format!("unknown setting `{key}` (see --help for the names)")));
        }
        from_file.push(flag);
    }
    Ok(cmd)
}

fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned()
}

/// Runs `value` through the flag's own parser and range, as if given on the command line.
fn check_value(arg: &clap::Arg, flag: &str, value: &str) -> Result<(), clap::Error> {
    if !arg.get_action().takes_values() {
        return match value {
            "true" | "false" => Ok(()),
            _ => Err(clap::Error::raw(ErrorKind::InvalidValue, "expected true or false")),
        };
    }
    let probe = arg
        .clone()
        .required(false)
        .global(false)
        .env(None::<&str>)
        .default_value(None::<&str>);
    clap::Command::new("check")
        .arg(probe)
        .try_get_matches_from(["check".to_owned(), format!("--{flag}={value}")])
        .map(|_| ())
}

/// Sets `value` as the default of `--flag` here and in every nested subcommand.
fn apply_default(
    mut cmd: clap::Command,
    flag: &str,
    value: &str,
    found: &mut bool,
) -> Result<clap::Command, clap::Error> {
    let arg = cmd.get_arguments().find(|a| a.get_long() == Some(flag)).cloned();
    if flag != "config"
        && let Some(arg) = arg
    {
        check_value(&arg, flag, value)?;
        *found = true;
        let value = value.to_owned();
        // A secret (admin token, Redis URL) must not show up in --help either.
        cmd = cmd.mut_arg(arg.get_id().clone(), |a| {
            let secret = a.is_hide_env_values_set();
            a.default_value(value).hide_default_value(secret)
        });
    }
    let names: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().to_owned()).collect();
    for name in names {
        let sub = cmd.find_subcommand(&name).expect("listed above").clone();
        let sub = apply_default(sub, flag, value, found)?;
        cmd = cmd.mut_subcommand(&name, |_| sub);
    }
    Ok(cmd)
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
    /// Run one workload through broken, watch and lua, and measure each (`bench sweep`: a grid).
    Bench(BenchArgs),
    /// Teaching demos that make the race visible.
    Demo(DemoArgs),
    /// A long mixed workload against a running server; reports statuses, p99 over time,
    /// RSS growth, expired holds and a final verify (exit 1 when a target is missed).
    Soak(SoakArgs),
}

/// `stockwatch soak`.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// The server to soak.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// Its admin token, if it has one.
    #[arg(long, env = "STOCKWATCH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// How long to run (e.g. 90s, 10m, 1h).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Clients in flight.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=2_000))]
    pub concurrency: u64,
    /// Latency window of the report.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub window: std::time::Duration,
    /// Time before the RSS baseline is taken.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub warm_up: std::time::Duration,
    /// Hot SKUs (65% of single-SKU traffic, and one line of every cart).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub hot_skus: u64,
    /// Cold SKUs.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(3..=100_000))]
    pub cold_skus: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The server's Redis, for the final verify (REDIS_URL, or the managed one in --data-dir).
    #[command(flatten)]
    pub redis: RedisArgs,
}

/// `stockwatch demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Which demo.
    #[command(subcommand)]
    pub command: DemoCommand,
}

/// The demos.
#[derive(Debug, Clone, Subcommand)]
pub enum DemoCommand {
    /// Black Friday: N buyers rush M units through broken, watch and lua; see who oversells.
    Race(RaceArgs),
}

/// `stockwatch demo race`.
#[derive(Debug, Clone, Args)]
pub struct RaceArgs {
    /// Buyers (default 500; 2 with --interleave).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::demo::MAX_BUYERS))]
    pub buyers: Option<u64>,
    /// Units in stock (default 100; 1 with --interleave).
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..=1_000_000))]
    pub stock: Option<i64>,
    /// Strategies, comma-separated, or `all`.
    #[arg(long, default_value = "all", value_parser = Strategies::parse)]
    pub strategy: Strategies,
    /// Replay the lost update step by step (broken, then watch) instead of rushing.
    #[arg(long)]
    pub interleave: bool,
    /// Group commit on the watch path; off (the default here) shows textbook WATCH conflicts.
    #[arg(long, default_value = "off", value_parser = ["on", "off"])]
    pub batching: String,
    /// Print JSON instead of a table or timeline.
    #[arg(long)]
    pub json: bool,
    /// Redis settings.
    #[command(flatten)]
    pub redis: RedisArgs,
}

/// `stockwatch bench`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// `sweep`: run a grid of settings instead of one workload.
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// The workload.
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Buyers in flight at once (closed loop).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub concurrency: u64,
    /// Retry settings of the watch path (library mode).
    #[command(flatten)]
    pub retry: RetryArgs,
    /// Print `{"config", "results"}` as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Subcommands of `stockwatch bench`.
#[derive(Debug, Clone, Subcommand)]
pub enum BenchCommand {
    /// Run the workload over concurrency × jitter × base (× strategy); write CSV and SVG plots.
    Sweep(SweepArgs),
}

/// What every buyer does, and against what.
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// Strategies, comma-separated (`broken,watch,lua`), or `all`.
    #[arg(long, default_value = "all", value_parser = Strategies::parse)]
    pub strategy: Strategies,
    /// What each buyer does.
    #[arg(long, value_enum, default_value = "purchase")]
    pub op: Op,
    /// Buyers in all (one call each).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub buyers: u64,
    /// Units of each SKU, set fresh before each strategy.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(i64).range(0..=1_000_000_000))]
    pub stock: i64,
    /// SKUs in play.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub skus: u64,
    /// How buyers pick SKUs: `uniform` or `zipf:<s>`.
    #[arg(long, default_value = "uniform", value_parser = Distribution::parse)]
    pub distribution: Distribution,
    /// Lines per checkout or reservation.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub cart_size: u64,
    /// Group commit on the watch path (library mode; `off` is the textbook path).
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub batching: String,
    /// Drive a running server at this URL (`http://host:port`) instead of the library.
    #[arg(long)]
    pub target: Option<String>,
    /// Admin token for setting stock on the target server.
    #[arg(long, env = "STOCKWATCH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Redis settings (library mode).
    #[command(flatten)]
    pub redis: RedisArgs,
}

impl WorkloadArgs {
    /// The workload at `concurrency`.
    pub fn workload(&self, concurrency: usize) -> Workload {
        Workload {
            op: self.op,
            buyers: self.buyers,
            stock: self.stock,
            skus: self.skus as usize,
            distribution: self.distribution,
            concurrency,
            cart_size: self.cart_size as usize,
        }
    }
}

/// `stockwatch bench sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// The workload.
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "5,10,25,50,100")]
    pub concurrency: Vec<usize>,
    /// Jitters, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "none,full,equal,decorrelated"
    )]
    pub jitter: Vec<Jitter>,
    /// First backoff delays in ms, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub base_ms: Vec<f64>,
    /// Longest backoff delay, ms.
    #[arg(long, default_value_t = 50.0)]
    pub cap_ms: f64,
    /// Attempts in all, the first included.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_attempts: u32,
    /// No retry starts after this many milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub max_elapsed_ms: u64,
    /// Where sweep.csv and the SVG plots go.
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
}

/// A `--strategy` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategies(pub Vec<Strategy>);

impl Strategies {
    /// `all`, or a comma-separated list of `broken`, `watch`, `lua`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw == "all" {
            return Ok(Self(Strategy::ALL.to_vec()));
        }
        raw.split(',')
            .map(|s| Strategy::parse(Some(s.trim())).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// Where Redis is, or where to run our own.
#[derive(Debug, Clone, Args)]
pub struct RedisArgs {
    /// Redis to use (redis://, rediss://, redis+unix://; a password in the URL works). When
    /// unset, stockwatch starts and owns a local redis-server in --data-dir.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Data directory of the managed redis-server (AOF, socket, log).
    #[arg(long, env = "STOCKWATCH_DATA_DIR", default_value = "./.stockwatch")]
    pub data_dir: PathBuf,
    /// AOF fsync policy of the managed redis-server.
    #[arg(long, env = "STOCKWATCH_APPENDFSYNC", value_enum, default_value = "everysec")]
    pub appendfsync: Persistence,
    /// Prefix of every Redis key.
    #[arg(long, env = "STOCKWATCH_KEY_PREFIX", default_value = "sw")]
    pub key_prefix: String,
    /// Bound on every Redis call and on each request's Redis work, in milliseconds.
    #[arg(long, env = "STOCKWATCH_RESPONSE_TIMEOUT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub response_timeout_ms: u64,
    /// Dedicated connections for WATCH transactions.
    #[arg(long, env = "STOCKWATCH_POOL_SIZE", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub pool_size: u64,
}

impl RedisArgs {
    /// Store settings from these flags, the rest at their defaults.
    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            key_prefix: self.key_prefix.clone(),
            response_timeout: Duration::from_millis(self.response_timeout_ms),
            pool_size: self.pool_size as usize,
            ..StoreConfig::default()
        }
    }
}

/// How the expiry worker paces itself.
#[derive(Debug, Clone, Args)]
pub struct ExpiryArgs {
    /// Longest sleep between sweeps, milliseconds: the bound on how late a hold is released.
    #[arg(long, env = "STOCKWATCH_EXPIRY_POLL_MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub expiry_poll_ms: u64,
    /// Most due holds taken from the index per step.
    #[arg(long, env = "STOCKWATCH_EXPIRY_BATCH", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub expiry_batch: u64,
    /// Releases in flight at once.
    #[arg(long, env = "STOCKWATCH_EXPIRY_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub expiry_concurrency: u64,
}

impl ExpiryArgs {
    /// The worker settings these flags describe.
    pub fn config(&self) -> ExpiryConfig {
        ExpiryConfig {
            poll: Duration::from_millis(self.expiry_poll_ms),
            batch: self.expiry_batch as usize,
            concurrency: self.expiry_concurrency as usize,
        }
    }
}

/// `stockwatch expiry-worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Redis settings.
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Pacing.
    #[command(flatten)]
    pub expiry: ExpiryArgs,
    /// Retry settings of each release's transaction.
    #[command(flatten)]
    pub retry: RetryArgs,
}

/// `stockwatch verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Redis settings.
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How conflicted WATCH transactions retry.
#[derive(Debug, Clone, Args)]
pub struct RetryArgs {
    /// Jitter applied to each backoff delay.
    #[arg(long, env = "STOCKWATCH_JITTER", value_enum, default_value = "full")]
    pub jitter: Jitter,
    /// First backoff delay, milliseconds (fractions allowed).
    #[arg(long, env = "STOCKWATCH_BASE_MS", default_value_t = 1.0)]
    pub base_ms: f64,
    /// Longest backoff delay, milliseconds.
    #[arg(long, env = "STOCKWATCH_CAP_MS", default_value_t = 50.0)]
    pub cap_ms: f64,
    /// Attempts in all, the first included.
    #[arg(long, env = "STOCKWATCH_MAX_ATTEMPTS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_attempts: u32,
    /// No retry starts after this many milliseconds.
    #[arg(long, env = "STOCKWATCH_MAX_ELAPSED_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub max_elapsed_ms: u64,
}

impl RetryArgs {
    /// The policy these flags describe; refuses negative or inverted delays.
    pub fn policy(&self) -> Result<RetryPolicy, String> {
        let ms = |name: &str, v: f64| {
            if v.is_finite() && (0.0..=60_000.0).contains(&v) {
                Ok(Duration::from_secs_f64(v / 1000.0))
            } else {
                Err(format!("--{name} must be between 0 and 60000 milliseconds"))
            }
        };
        let base = ms("base-ms", self.base_ms)?;
        let cap = ms("cap-ms", self.cap_ms)?;
        if cap < base {
            return Err("--cap-ms must not be smaller than --base-ms".into());
        }
        Ok(RetryPolicy {
            jitter: self.jitter,
            base,
            cap,
            max_attempts: self.max_attempts,
            max_elapsed: Duration::from_millis(self.max_elapsed_ms),
        })
    }
}

/// `stockwatch serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Print every setting as resolved (flag > env > config file > default) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Address to listen on. A non-loopback address needs --admin-token.
    #[arg(long, env = "STOCKWATCH_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Bearer token required by the admin endpoints. Never logged.
    #[arg(long, env = "STOCKWATCH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Serve `?strategy=broken` (check-then-act; it oversells). For teaching only.
    #[arg(long, env = "STOCKWATCH_ALLOW_BROKEN")]
    pub allow_broken: bool,
    /// Pause between check and act on the broken path, milliseconds, so its race shows.
    #[arg(long, env = "STOCKWATCH_BROKEN_THINK_MS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub broken_think_ms: u64,
    /// Approximate cap of each SKU's movement stream.
    #[arg(long, env = "STOCKWATCH_MOVEMENTS_MAXLEN", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub movements_maxlen: u64,
    /// Group commit of concurrent same-SKU takes on `watch` (`off`: one buyer per transaction).
    #[arg(long, env = "STOCKWATCH_BATCHING", default_value = "on", value_parser = ["on", "off"])]
    pub batching: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "STOCKWATCH_WORKERS")]
    pub workers: Option<usize>,
    /// Run an expiry worker inside the service (`off` when separate `stockwatch
    /// expiry-worker` processes release holds; any number may run at once).
    #[arg(long, env = "STOCKWATCH_EXPIRY_WORKER", default_value = "on", value_parser = ["on", "off"])]
    pub expiry_worker: String,
    /// How long terminal reservations and Idempotency-Key answers are kept, in hours.
    #[arg(long, env = "STOCKWATCH_RETENTION_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(24..=8760))]
    pub retention_hours: u64,
    /// Expiry worker pacing.
    #[command(flatten)]
    pub expiry: ExpiryArgs,
    /// Redis settings.
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Retry settings.
    #[command(flatten)]
    pub retry: RetryArgs,
}

impl ServeArgs {
    /// The store settings these flags describe.
    pub fn store_config(&self) -> Result<StoreConfig, String> {
        Ok(StoreConfig {
            retry: self.retry.policy()?,
            broken_think_time: Duration::from_millis(self.broken_think_ms),
            movements_maxlen: self.movements_maxlen as usize,
            batching: self.batching == "on",
            retention: Duration::from_secs(self.retention_hours * 3600),
            ..self.redis.store_config()
        })
    }

    /// The in-process expiry worker's settings, unless it is off.
    pub fn expiry_config(&self) -> Option<ExpiryConfig> {
        (self.expiry_worker == "on").then(|| self.expiry.config())
    }
}
