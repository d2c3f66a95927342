//! # stockwatch-ledger: the books in PostgreSQL
//!
//! The ledger: every order, movement and reservation change in PostgreSQL, exactly once,
//! without checkout ever waiting for it.
//!
//! Each change writes its entry to its slot's feed in the same MULTI or script
//! (`crate::ops::journal`). Projectors, in `serve` or in `stockwatch ledger` processes,
//! read the feeds through one consumer group and write batches to PostgreSQL:
//! - `feed`: the Redis side: which slots to read, XREADGROUP and XAUTOCLAIM, XACK after
//!   COMMIT, trimming behind every group, dead letters, lag;
//! - `project`: one SQL transaction per batch, idempotent by the entry's id;
//! - `trim`: trimming each feed behind every group, and measuring lag;
//! - `dead`: dead letters, listed and replayed;
//! - `fault`: the points where the crash tests stop a projector;
//! - `aging`: orders leave Redis once projected and past their retention;
//! - `books`: reads of the books (an aged-out order, `verify --ledger`).
//!
//! Exactly once: the entry id is a unique key in `ledger_entries`, inserted in the same
//! transaction as the rows it produces, and an entry is acknowledged only after COMMIT. A
//! crash before COMMIT leaves it pending (claimed again later); after COMMIT and before
//! XACK, its replay inserts nothing.

#![recursion_limit = "256"]

// The layers below, by the names this crate's modules use for them.
use stockwatch_core::{convert, domain, error};
use stockwatch_ops as ops;
use stockwatch_store::{self as store, txn};

mod aging;
mod books;
mod dead;
mod fault;
mod feed;
mod on_the_way;
mod project;
mod returns;
mod trim;

pub use books::{Difference, LedgerReport, check, find_order};
pub use dead::{DeadLetter, dead_letters, replay_dead_letters};
pub use fault::{FaultHook, FaultPoint};

use crate::error::StoreError;
use crate::store::Store;
use backon::{BackoffBuilder, ExponentialBuilder};
use feed::{Feed, FeedEntry};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

/// The migrations, embedded: `migrations/` at the crate root.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How a projector works.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// PostgreSQL, `postgres://…`. Never logged: it may hold a password.
    pub url: SecretString,
    /// Most entries per slot per read, and per SQL transaction.
    pub batch: usize,
    /// Sleep when there was nothing to read.
    pub poll: Duration,
    /// How often every listed slot is read and lag measured.
    pub full_pass: Duration,
    /// Idle time after which another consumer's unacknowledged entries are claimed.
    pub claim_idle: Duration,
    /// Tries of an entry PostgreSQL refuses before it is a dead letter.
    pub max_tries: u32,
    /// Warn in the log while lag is above this.
    pub lag_warn: Duration,
    /// How long a projected order stays in Redis (`None`: for ever).
    pub order_retention: Option<Duration>,
    /// Called at each fault point of a batch (the crash tests' way in); none by default.
    pub fault: FaultHook,
}

impl LedgerConfig {
    /// Defaults for `url`, as the flags have them.
    pub fn new(url: SecretString) -> Self {
        Self {
            url,
            batch: 5000,
            poll: Duration::from_millis(20),
            full_pass: Duration::from_secs(1),
            claim_idle: Duration::from_secs(30),
            max_tries: 3,
            lag_warn: Duration::from_secs(30),
            order_retention: None,
            fault: FaultHook::default(),
        }
    }
}

/// Why the ledger could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The URL was refused. Only the redacted message is kept: sqlx's error may quote the
    /// URL, password included.
    #[error("ledger URL: {0}")]
    Url(String),
    /// The migrations did not run (redacted, as above).
    #[error("ledger migrations: {0}")]
    Migrate(String),
    /// PostgreSQL failed a query.
    #[error("ledger: {0}")]
    Sql(#[from] sqlx::Error),
    /// Redis failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Connects to PostgreSQL and brings its schema up to date. The pool connects lazily, so a
/// PostgreSQL that is down at start only delays the books; the migrations are retried by
/// the projector until they run.
pub fn pool(url: &SecretString) -> Result<PgPool, LedgerError> {
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(url.expose_secret())
        .map_err(|e| LedgerError::Url(redact(&e.to_string())))
}

/// Runs the migrations (idempotent; concurrent projectors serialize on sqlx's lock).
pub async fn migrate(pool: &PgPool) -> Result<(), LedgerError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| LedgerError::Migrate(redact(&e.to_string())))
}

/// Drops anything URL-like from an error message, so a password never reaches a log.
fn redact(message: &str) -> String {
    message
        .split_whitespace()
        .map(|w| if w.contains("://") { "<url>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Projects until `shutdown` completes. Never returns an error: PostgreSQL or Redis being
/// down is waited out with a back-off, and the feed keeps everything meanwhile.
pub async fn run(store: Store, config: LedgerConfig, shutdown: impl Future<Output = ()>) {
    let pool = match pool(&config.url) {
        Ok(pool) => pool,
        Err(e) => {
            tracing::error!(error = %e, "ledger projector cannot start");
            return;
        }
    };
    tokio::pin!(shutdown);
    let running = store.metrics().ledger.projector.clone();
    running.set(1);
    let mut projector = Projector::new(store, pool, config);
    tokio::select! {
        () = projector.run() => {}
        () = &mut shutdown => {}
    }
    running.set(0);
    tracing::info!("ledger projector stopped");
}

/// One projector: its consumer in the group, its pool, and what it counts.
struct Projector {
    feed: Feed,
    pool: PgPool,
    config: LedgerConfig,
    /// Back-off after a failure, reset after a success.
    backoff: Backoff,
    /// When the last full pass ran.
    last_full: Option<tokio::time::Instant>,
    /// When idle consumers' entries were last claimed (every half claim-idle time: each
    /// claim is one command per listed slot).
    last_claim: Option<tokio::time::Instant>,
    /// When the last lag warning was logged, so a long outage logs once a minute.
    last_warned: Option<tokio::time::Instant>,
}

/// Waits after a failure: 50–100 ms at first, doubling to 2.5–5 s (`backon` adds up to the
/// delay again as jitter), so projectors that failed together do not retry together.
const BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(50))
    .with_max_delay(Duration::from_millis(2500))
    .with_jitter()
    .without_max_times();

type Backoff = <ExponentialBuilder as BackoffBuilder>::Backoff;

/// The pause before an entry PostgreSQL refused is tried alone again.
const REFUSED_PAUSE: Duration = Duration::from_millis(100);

impl Projector {
    fn new(store: Store, pool: PgPool, config: LedgerConfig) -> Self {
        Self {
            feed: Feed::new(store, config.batch, config.claim_idle),
            pool,
            config,
            backoff: BACKOFF.build(),
            last_full: None,
            last_claim: None,
            last_warned: None,
        }
    }

    async fn run(&mut self) {
        while let Err(e) = migrate(&self.pool).await {
            tracing::warn!(error = %e, "ledger: PostgreSQL not ready; retrying");
            self.wait_after_failure().await;
            self.measure().await;
        }
        self.backoff = BACKOFF.build();
        tracing::info!(consumer = %self.feed.consumer(), "ledger projector running");
        loop {
            match self.step().await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(self.config.poll).await,
                Err(e) => {
                    tracing::warn!(error = %e, "ledger: a step failed; backing off");
                    self.wait_after_failure().await;
                }
            }
        }
    }

    /// One round: read what is hinted (everything, on a full pass), project it, acknowledge
    /// it. True when it found entries.
    async fn step(&mut self) -> Result<bool, LedgerError> {
        let full = self.last_full.is_none_or(|at| at.elapsed() >= self.config.full_pass);
        let slots = self.feed.slots(full).await?;
        let mut batch = Vec::new();
        if full
            && self
                .last_claim
                .is_none_or(|at| at.elapsed() >= self.config.claim_idle / 2)
        {
            self.last_claim = Some(tokio::time::Instant::now());
            batch.extend(self.feed.claim(&slots).await?);
        }
        batch.extend(self.feed.read(&slots).await?);
        let found = !batch.is_empty();
        if found {
            self.commit(batch).await;
        }
        if full {
            self.last_full = Some(tokio::time::Instant::now());
            let lag = self.feed.trim_and_measure(&slots).await?;
            self.report_lag(lag);
            self.feed.store().metrics().ledger.full_passes.inc();
            if let Some(retention) = self.config.order_retention {
                aging::age_out(self.feed.store(), &slots, retention).await;
            }
        }
        Ok(found)
    }

    /// Projects `batch` until PostgreSQL takes it: a transient failure is retried after a
    /// back-off (the batch stays pending in Redis meanwhile); an entry PostgreSQL refuses
    /// goes to the dead letters after `max_tries`. Then acknowledges what landed.
    async fn commit(&mut self, batch: Vec<FeedEntry>) {
        let metrics = self.feed.store().metrics().ledger.clone();
        let (good, malformed): (Vec<FeedEntry>, Vec<FeedEntry>) = batch.into_iter().partition(|f| f.entry.is_ok());
        for bad in malformed {
            let why = bad.entry.as_ref().err().cloned().unwrap_or_default();
            self.dead_letter(&bad, &why).await;
        }
        loop {
            match project::project(&self.pool, &good, &self.config.fault).await {
                Ok(fresh) => {
                    self.config.fault.at(FaultPoint::AfterCommit);
                    metrics.projected.inc_by(fresh);
                    self.backoff = BACKOFF.build();
                    break;
                }
                Err(e) if project::refused(&e) => {
                    tracing::warn!(error = %redact(&e.to_string()), entries = good.len(), "ledger: PostgreSQL refused a batch; trying its entries one by one");
                    metrics.batch_failures.inc();
                    self.one_by_one(&good).await;
                    break;
                }
                Err(e) => {
                    metrics.batch_failures.inc();
                    tracing::warn!(error = %redact(&e.to_string()), entries = good.len(), "ledger: PostgreSQL unavailable; will retry the batch");
                    self.measure().await;
                    self.wait_after_failure().await;
                }
            }
        }
        self.acknowledge(&good).await;
    }

    /// After a refused batch: each entry alone, a few tries each; the ones still refused
    /// become dead letters, the rest land.
    async fn one_by_one(&mut self, batch: &[FeedEntry]) {
        for fed in batch {
            let mut tries = 0;
            loop {
                tries += 1;
                match project::project(&self.pool, std::slice::from_ref(fed), &self.config.fault).await {
                    Ok(fresh) => {
                        self.feed.store().metrics().ledger.projected.inc_by(fresh);
                        break;
                    }
                    Err(e) if project::refused(&e) && tries >= self.config.max_tries => {
                        self.dead_letter(fed, &redact(&e.to_string())).await;
                        break;
                    }
                    Err(e) if project::refused(&e) => tokio::time::sleep(REFUSED_PAUSE).await,
                    Err(_) => self.wait_after_failure().await,
                }
            }
        }
    }

    /// Acknowledges what is now in PostgreSQL (after COMMIT, never before), and lists its
    /// orders for aging. A failure leaves the entries pending: claimed and replayed later,
    /// which inserts nothing twice.
    async fn acknowledge(&mut self, batch: &[FeedEntry]) {
        if let Err(e) = self.feed.ack(batch).await {
            tracing::warn!(error = %e, "ledger: XACK failed; the entries will be replayed as no-ops");
        }
        if self.config.order_retention.is_some()
            && let Err(e) = aging::listed(self.feed.store(), batch).await
        {
            tracing::warn!(error = %e, "ledger: could not list projected orders for aging");
        }
    }

    async fn dead_letter(&mut self, fed: &FeedEntry, why: &str) {
        tracing::warn!(slot = fed.slot, id = %fed.id, reason = %why, "ledger: entry moved to the dead letters");
        loop {
            match self.feed.dead_letter(fed, why).await {
                Ok(()) => {
                    self.feed.store().metrics().ledger.dead_lettered.inc();
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ledger: could not move a dead letter; retrying");
                    self.wait_after_failure().await;
                }
            }
        }
    }

    /// Measures lag outside a full pass: while PostgreSQL is away, `/metrics` still shows
    /// the books falling behind.
    async fn measure(&mut self) {
        if let Ok(slots) = feed::listed_slots(self.feed.store()).await
            && let Ok(lag) = self.feed.trim_and_measure(&slots).await
        {
            self.report_lag(lag);
        }
    }

    fn report_lag(&mut self, lag: feed::Lag) {
        let metrics = &self.feed.store().metrics().ledger;
        metrics.lag_entries.set(convert::i64_of(lag.entries));
        metrics.lag_seconds.set(lag.seconds);
        metrics.dead_letters.set(convert::i64_of(lag.dead_letters));
        if lag.seconds > self.config.lag_warn.as_secs_f64()
            && self
                .last_warned
                .is_none_or(|at| at.elapsed() >= Duration::from_secs(60))
        {
            self.last_warned = Some(tokio::time::Instant::now());
            tracing::warn!(
                lag_entries = lag.entries,
                lag_seconds = lag.seconds,
                "ledger is behind Redis"
            );
        }
    }

    async fn wait_after_failure(&mut self) {
        let delay = self.backoff.next().unwrap_or(Duration::from_secs(5));
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_never_reach_a_message() {
        let said = redact("error connecting to postgres://app:s3cret@db:5432/books: refused");
        assert!(!said.contains("s3cret") && said.contains("<url>"), "{said}");
    }
}
