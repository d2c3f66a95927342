//! # stockwatch-tools: measure it
//!
//! - [`bench`](mod@bench): the benchmark harness (`stockwatch bench`, `bench sweep`, `cargo bench`);
//! - [`soak`]: the long mixed-workload run against a server (`stockwatch soak`);
//! - [`plot`]: pictures of races and sweeps (SVG).
//!
//! Nothing in the service depends on this crate: a server built without the `tools`
//! feature has none of its dependencies (plotters, indicatif, the harness).

#![recursion_limit = "256"]

pub mod bench;
pub mod plot;
pub mod soak;

// The layers below, by the names this crate's modules use for them.
use stockwatch_core::{convert, domain, error, outcome, retry};
use stockwatch_demo::race;
use stockwatch_ledger as ledger;
use stockwatch_ops as ops;
use stockwatch_store as store;

/// Why a bench, a sweep, a soak or a plot could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The store could not be built.
    #[error(transparent)]
    Connect(#[from] store::ConnectError),
    /// Redis failed.
    #[error(transparent)]
    Store(#[from] error::StoreError),
    /// An operation answered an error.
    #[error(transparent)]
    Op(#[from] error::Error),
    /// A value the harness built was refused by its domain type.
    #[error(transparent)]
    Invalid(#[from] domain::InvalidInput),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    /// PostgreSQL failed a query.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// An HTTP call to the target failed.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// A file could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A task of the harness panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// Anything else, said for the operator (a refused setting, an HTTP status, a plot).
    #[error("{0}")]
    Said(String),
}

impl From<redis::RedisError> for ToolError {
    fn from(e: redis::RedisError) -> Self {
        Self::Store(e.into())
    }
}

impl From<String> for ToolError {
    fn from(said: String) -> Self {
        Self::Said(said)
    }
}

impl From<&str> for ToolError {
    fn from(said: &str) -> Self {
        Self::Said(said.to_owned())
    }
}
