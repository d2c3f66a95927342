//! Settings of the harness subcommands: `bench` (and `bench sweep`), `soak` and `demo race`.

use super::{BudgetPercent, RedisArgs, RetryArgs};
use crate::bench::{Distribution, Op, Workload};
use crate::convert;
use crate::domain::Strategy;
use crate::retry::Jitter;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `stockwatch soak`.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// The server to soak.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// Its admin token, if it has one.
    #[arg(long, env = "STOCKWATCH_ADMIN_TOKEN", hide_env_values = true, value_parser = super::args::secret)]
    pub admin_token: Option<secrecy::SecretString>,
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
    /// Bots against people: a drop limited per customer, where bots fire many requests at
    /// once; see which strategy lets a bot past the limit.
    Bots(BotsArgs),
}

/// `stockwatch demo bots`.
#[derive(Debug, Clone, Args)]
pub struct BotsArgs {
    /// Bots, each firing --requests-per-bot requests at once.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub bots: u64,
    /// Requests each bot fires.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub requests_per_bot: u64,
    /// People, one request each.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=5_000))]
    pub people: u64,
    /// Units in stock.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub stock: i64,
    /// Units one customer may take.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub limit: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Redis settings.
    #[command(flatten)]
    pub redis: RedisArgs,
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
    /// Group commit on watch and lua; off (the default here) shows textbook WATCH conflicts.
    #[arg(long, default_value = "off", value_parser = ["on", "off"])]
    pub batching: String,
    /// Print JSON instead of a table or timeline.
    #[arg(long)]
    pub json: bool,
    /// Also draw the rush as an SVG: stock over time per strategy (broken dives below zero),
    /// and attempts and conflicts over time.
    #[arg(long, value_name = "FILE.svg", conflicts_with = "interleave")]
    pub plot: Option<std::path::PathBuf>,
    /// Retry budget of the watch buyers, as a % of first attempts over 10 s; `off` (the
    /// default here, so the lesson shows every retry) or e.g. 20 to see a budget bite.
    #[arg(long, default_value = "off")]
    pub retry_budget_percent: BudgetPercent,
    /// Retries per second the budget always allows on top of its percentage.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub retry_budget_min_per_s: u32,
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
    /// Also measure the floor (library mode, one Redis): a purchase's writes as plain
    /// pipelines of this many orders, with no decision around them, as many orders as
    /// `--buyers`. Each strategy's Redis CPU per order reads as a multiple of it.
    #[arg(long, value_name = "DEPTH", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub floor: Option<u64>,
    /// Leave each strategy's keys in Redis (library mode; the prefix is printed), to measure
    /// what reads them: `verify`, the expiry worker, listings.
    #[arg(long)]
    pub keep: bool,
    /// How long each `--op reserve` hold lasts (library mode): short holds, with `--keep`,
    /// give the expiry worker a backlog to release.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub hold_ttl_s: u32,
}

/// Subcommands of `stockwatch bench`.
#[derive(Debug, Clone, Subcommand)]
pub enum BenchCommand {
    /// Run the workload over concurrency × jitter × base × cap (× strategy); write CSV and
    /// SVG plots, and with --p99-target-ms recommend settings.
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
    /// Split each SKU's stock over this many named locations, drawn in order (0: a v1
    /// SKU, all in `default`): the stockroom's cost per take.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=64))]
    pub locations: u64,
    /// Give each SKU alert rules (a low-stock threshold of half its stock), so every take
    /// also checks for a crossing: the alerts' cost per take.
    #[arg(long)]
    pub alerts: bool,
    /// Give each SKU a drop's sale settings: a window open now and a per-customer limit no
    /// buyer reaches, so every take reads Redis's clock and its customer's count and
    /// writes the count: a drop's cost per take.
    #[arg(long)]
    pub sale: bool,
    /// Buyers as this many customers (buyer i is customer `c<i mod N>`): bots that each
    /// send many requests. Reports how many customers got units and the most any one got.
    /// Without it, every buyer is one customer.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub customers: Option<u64>,
    /// With --customers: requests each customer sends; buyers are then customers × this
    /// (instead of --buyers).
    #[arg(long, requires = "customers", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub requests_per_customer: Option<u64>,
    /// Give each SKU a sale with this per-customer limit (and `--sale`'s open window): with
    /// --customers, who gets past it (`broken` does; `watch` and `lua` never).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub per_customer_limit: Option<i64>,
    /// Give each SKU a waiting room that admits everyone, and each take its admission
    /// (library mode; over HTTP takes would need tokens): an admission's cost per take.
    #[arg(long, conflicts_with = "target")]
    pub queue: bool,
    /// Group commit on watch and lua (library mode; `off` is the textbook paths).
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub batching: String,
    /// Drive a running server at this URL (`http://host:port`) instead of the library.
    #[arg(long)]
    pub target: Option<String>,
    /// Admin token for setting stock on the target server.
    #[arg(long, env = "STOCKWATCH_ADMIN_TOKEN", hide_env_values = true, value_parser = super::args::secret)]
    pub admin_token: Option<secrecy::SecretString>,
    /// Redis settings (library mode).
    #[command(flatten)]
    pub redis: RedisArgs,
}

impl WorkloadArgs {
    /// The workload at `concurrency`.
    pub fn workload(&self, concurrency: usize) -> Workload {
        Workload {
            op: self.op,
            buyers: match (self.customers, self.requests_per_customer) {
                (Some(c), Some(r)) => c.saturating_mul(r),
                _ => self.buyers,
            },
            stock: self.stock,
            skus: convert::usize_of(self.skus),
            distribution: self.distribution,
            concurrency,
            cart_size: convert::usize_of(self.cart_size),
            locations: convert::usize_of(self.locations),
            alerts: self.alerts,
            sale: self.sale,
            customers: self.customers.unwrap_or(0),
            per_customer_limit: self.per_customer_limit,
            queue: self.queue,
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
    /// Longest backoff delays in ms, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "50")]
    pub cap_ms: Vec<f64>,
    /// Attempts in all, the first included.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_attempts: u32,
    /// No retry starts after this many milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub max_elapsed_ms: u64,
    /// Where sweep.csv and the SVG plots go.
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
    /// End with a recommendation: the jitter, base and cap with the highest throughput whose
    /// p99 latency stays under this many ms, and the fairness they give.
    #[arg(long, value_name = "MS", value_parser = positive_ms)]
    pub p99_target_ms: Option<f64>,
}

fn positive_ms(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(ms) if ms > 0.0 && ms.is_finite() => Ok(ms),
        _ => Err(format!("{raw:?} is not a positive number of milliseconds")),
    }
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
