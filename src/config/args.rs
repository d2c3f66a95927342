//! Settings of the service's subcommands (`serve`, `expiry-worker`, `verify`) and the groups
//! they share: where Redis is, how transactions retry, how the expiry worker paces itself.

use crate::convert;
use crate::expiry::ExpiryConfig;
use crate::managed::redis_server::Persistence;
use crate::retry::{Jitter, RetryBudget, RetryPolicy};
use crate::store::StoreConfig;
use clap::{Args, Subcommand};
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// Parses a flag that may hold a secret (a token, a URL with a password) straight into a
/// [`SecretString`], so no `Debug` of the settings can show it.
pub(crate) fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// Where Redis is, or where to run our own.
#[derive(Debug, Clone, Args)]
pub struct RedisArgs {
    /// Redis to use (redis://, rediss://, redis+unix://; a password in the URL works), 7.0 or
    /// newer. When unset, stockwatch starts and owns a local redis-server in --data-dir.
    #[arg(
        long,
        env = "REDIS_URL",
        hide_env_values = true,
        conflicts_with = "redis_cluster_nodes",
        value_parser = secret
    )]
    pub redis_url: Option<SecretString>,
    /// A Redis Cluster instead: comma-separated seed URLs (redis:// or rediss://; passwords
    /// as in REDIS_URL). Any one reachable master is enough to find the rest.
    #[arg(long, env = "REDIS_CLUSTER_NODES", hide_env_values = true, value_delimiter = ',', value_parser = secret)]
    pub redis_cluster_nodes: Vec<SecretString>,
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
    /// The ledger's PostgreSQL (postgres://…). When set, every change also writes its
    /// ledger entry, so every process that writes (servers, expiry workers) must have it.
    #[arg(long, env = "STOCKWATCH_LEDGER_URL", hide_env_values = true, value_parser = secret)]
    pub ledger_url: Option<SecretString>,
}

impl RedisArgs {
    /// Store settings from these flags, the rest at their defaults.
    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            key_prefix: self.key_prefix.clone(),
            response_timeout: Duration::from_millis(self.response_timeout_ms),
            pool_size: convert::usize_of(self.pool_size),
            journal: self.ledger_url.is_some(),
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
    /// How often every slot with holds is swept, due or not, seconds: the bound on a release
    /// delayed by a process that died between a hold's commit and its schedule entry.
    #[arg(long, env = "STOCKWATCH_EXPIRY_FULL_PASS_S", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub expiry_full_pass_s: u64,
}

impl ExpiryArgs {
    /// The worker settings these flags describe.
    pub fn config(&self) -> ExpiryConfig {
        ExpiryConfig {
            poll: Duration::from_millis(self.expiry_poll_ms),
            batch: convert::usize_of(self.expiry_batch),
            concurrency: convert::usize_of(self.expiry_concurrency),
            full_pass: Duration::from_secs(self.expiry_full_pass_s),
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
    /// Also check the ledger (`--ledger-url`) against Redis, once its projectors drained.
    #[arg(long)]
    pub ledger: bool,
    /// With `--ledger`: how long to wait for the projectors to drain, seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub ledger_drain_s: u64,
    /// With `--ledger`: the servers' `--order-retention-hours`, so an order only in the
    /// ledger and older than this is reported as aged out, not missing.
    #[arg(long, env = "STOCKWATCH_ORDER_RETENTION_HOURS")]
    pub order_retention_hours: Option<f64>,
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
    /// Retry budget across all calls: retries may be at most this % of first attempts over
    /// 10 s (plus --retry-budget-min-per-s); `off` for none. Finagle's default.
    #[arg(long, env = "STOCKWATCH_RETRY_BUDGET_PERCENT", default_value = "20")]
    pub retry_budget_percent: BudgetPercent,
    /// Retries per second the budget always allows on top of its percentage.
    #[arg(long, env = "STOCKWATCH_RETRY_BUDGET_MIN_PER_S", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub retry_budget_min_per_s: u32,
}

/// `--retry-budget-percent`: a share of first attempts (0 to 100000), or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetPercent(pub Option<f32>);

impl std::str::FromStr for BudgetPercent {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        if raw == "off" {
            return Ok(Self(None));
        }
        match raw.parse::<f32>() {
            Ok(p) if (0.0..=RetryBudget::MAX_PERCENT).contains(&p) => Ok(Self(Some(p))),
            _ => Err(format!(
                "expected a percentage from 0 to {} or `off`",
                RetryBudget::MAX_PERCENT
            )),
        }
    }
}

impl BudgetPercent {
    /// The budget this percentage and a per-second floor describe.
    pub fn budget(self, min_per_sec: u32) -> Option<RetryBudget> {
        self.0.map(|percent| RetryBudget { percent, min_per_sec })
    }
}

impl RetryArgs {
    /// The retry budget these flags describe (`None` when off).
    pub fn budget(&self) -> Option<RetryBudget> {
        self.retry_budget_percent.budget(self.retry_budget_min_per_s)
    }

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
    /// Address to listen on. A non-loopback address needs --admin-token or --require-keys.
    #[arg(long, env = "STOCKWATCH_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Bearer token required by the admin endpoints. Never logged.
    #[arg(long, env = "STOCKWATCH_ADMIN_TOKEN", hide_env_values = true, value_parser = secret)]
    pub admin_token: Option<SecretString>,
    /// The key that signs waiting-room admissions (`PUT …/sale` with a `queue`). Every
    /// process of a fleet needs the same one; without it, each process signs with a key of
    /// its own and refuses the others' admissions. Never logged.
    #[arg(long, env = "STOCKWATCH_ADMISSION_SECRET", hide_env_values = true, value_parser = secret)]
    pub admission_secret: Option<SecretString>,
    /// Refuse every call without a client key (`stockwatch keys create`) or the admin
    /// token, except /healthz, /readyz, the dashboard page and the API documents.
    #[arg(long, env = "STOCKWATCH_REQUIRE_KEYS")]
    pub require_keys: bool,
    /// Serve `?strategy=broken` (check-then-act; it oversells). For teaching only.
    #[arg(long, env = "STOCKWATCH_ALLOW_BROKEN")]
    pub allow_broken: bool,
    /// Pause between check and act on the broken path, milliseconds, so its race shows.
    #[arg(long, env = "STOCKWATCH_BROKEN_THINK_MS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub broken_think_ms: u64,
    /// Cap of each SKU's movement history list (its newest movements are kept), and MAXLEN ~
    /// of the alert streams.
    #[arg(long, env = "STOCKWATCH_MOVEMENTS_MAXLEN", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub movements_maxlen: u64,
    /// Group commit of concurrent takes on `watch` and `lua` (`off`: one buyer per transaction
    /// or script call, the textbook paths).
    #[arg(long, env = "STOCKWATCH_BATCHING", default_value = "on", value_parser = ["on", "off"])]
    pub batching: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "STOCKWATCH_WORKERS")]
    pub workers: Option<usize>,
    /// How the worker threads reach Redis: each on its own connections and group-commit
    /// queues (`per-worker`), or all through one set (`shared`: one arrival order for the
    /// whole process, at the cost of a hand-off between threads per purchase).
    #[arg(long, env = "STOCKWATCH_LANES", value_enum, default_value_t = crate::startup::Lanes::PerWorker)]
    pub lanes: crate::startup::Lanes,
    /// Export a span per request to this OpenTelemetry collector, over OTLP/HTTP (protobuf):
    /// its base URL (`http://localhost:4318`, to which `/v1/traces` is added) or its traces
    /// URL. Off when unset.
    #[arg(long, env = "STOCKWATCH_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Run an expiry worker inside the service (`off` when separate `stockwatch
    /// expiry-worker` processes release holds; any number may run at once).
    #[arg(long, env = "STOCKWATCH_EXPIRY_WORKER", default_value = "on", value_parser = ["on", "off"])]
    pub expiry_worker: String,
    /// How long terminal reservations and Idempotency-Key answers are kept, in hours.
    #[arg(long, env = "STOCKWATCH_RETENTION_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(24..=8760))]
    pub retention_hours: u64,
    /// On a cluster, how long a cross-slot cart's holds wait for their coordinator before
    /// the expiry worker releases them, in seconds.
    #[arg(long, env = "STOCKWATCH_SAGA_HOLD_S", default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=3600))]
    pub saga_hold_s: u64,
    /// Raise a `contention` alert when this share (0-1) of a SKU's transaction attempts
    /// conflict over a window; 0 turns it off.
    #[arg(long, env = "STOCKWATCH_CONTENTION_ALERT_RATE", default_value_t = 0.5)]
    pub contention_alert_rate: f64,
    /// The window of the `contention` alert, in seconds.
    #[arg(long, env = "STOCKWATCH_CONTENTION_ALERT_WINDOW_S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub contention_alert_window_s: u64,
    /// Expiry worker pacing.
    #[command(flatten)]
    pub expiry: ExpiryArgs,
    /// Redis settings.
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Retry settings.
    #[command(flatten)]
    pub retry: RetryArgs,
    /// The in-process ledger projector (with `--ledger-url`).
    #[command(flatten)]
    pub ledger: super::ledger::LedgerArgs,
    /// Webhooks.
    #[command(flatten)]
    pub webhooks: super::webhooks::WebhookArgs,
}

impl ServeArgs {
    /// The store settings these flags describe.
    pub fn store_config(&self) -> Result<StoreConfig, String> {
        Ok(StoreConfig {
            retry: self.retry.policy()?,
            retry_budget: self.retry.budget(),
            broken_think_time: Duration::from_millis(self.broken_think_ms),
            movements_maxlen: convert::usize_of(self.movements_maxlen),
            batching: self.batching == "on",
            retention: Duration::from_secs(self.retention_hours * 3600),
            saga_hold: Duration::from_secs(self.saga_hold_s),
            contention_alert: crate::retry::ContentionAlert {
                rate: match self.contention_alert_rate {
                    r if (0.0..=1.0).contains(&r) => r,
                    r => return Err(format!("--contention-alert-rate {r} must be from 0 to 1")),
                },
                window: Duration::from_secs(self.contention_alert_window_s),
                ..Default::default()
            },
            ..self.redis.store_config()
        })
    }

    /// The in-process expiry worker's settings, unless it is off.
    pub fn expiry_config(&self) -> Option<ExpiryConfig> {
        (self.expiry_worker == "on").then(|| self.expiry.config())
    }
}

/// `stockwatch ledger`.
#[derive(Debug, Clone, Args)]
pub struct LedgerCommandArgs {
    /// Redis settings (`--ledger-url` is required here).
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Projector settings.
    #[command(flatten)]
    pub ledger: super::ledger::LedgerArgs,
    /// What to do; without one, project until SIGTERM/SIGINT.
    #[command(subcommand)]
    pub action: Option<LedgerAction>,
}

/// What `stockwatch ledger` does besides projecting.
#[derive(Debug, Clone, Subcommand)]
pub enum LedgerAction {
    /// List the entries in the dead-letter streams, or put them back in the feed.
    DeadLetters {
        /// Put every dead letter (or the ones named with `--id`) back into its feed, to be
        /// projected again (after the cause was fixed).
        #[arg(long)]
        replay: bool,
        /// With `--replay`: only this dead letter's original entry id (repeatable).
        #[arg(long)]
        id: Vec<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}
