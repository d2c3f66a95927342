//! # stockwatch-managed: private servers in a temp dir
//!
//! Real servers, started on demand and stopped on drop, so that `serve` runs without a
//! `REDIS_URL` and every test and trial runs against the real thing:
//!
//! - [`redis_server`]: a private `redis-server` (`serve` without `REDIS_URL`, tests);
//! - [`redis_cluster`]: a private 3-master Redis Cluster (`scripts/cluster.sh`, tests);
//! - [`postgres`]: a private PostgreSQL for the ledger's tests and trials.

pub mod postgres;
pub mod redis_cluster;
pub mod redis_server;

/// Why a managed server could not be started, reached or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ManagedError {
    /// A directory, file, port or program the server needs: what was tried, and the
    /// system's error.
    #[error("{what}: {source}")]
    Io {
        /// What was tried.
        what: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// A program is not installed: how to install it.
    #[error("{0}")]
    NotInstalled(&'static str),
    /// Anything else, said for the operator: a server that exited or never became ready
    /// (with its log's last lines), a setting out of range.
    #[error("{0}")]
    Said(String),
}

impl From<String> for ManagedError {
    fn from(said: String) -> Self {
        Self::Said(said)
    }
}

impl From<&str> for ManagedError {
    fn from(said: &str) -> Self {
        Self::Said(said.to_owned())
    }
}

/// Wraps an I/O error with what was being tried.
pub(crate) fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> ManagedError {
    move |source| ManagedError::Io {
        what: what.to_string(),
        source,
    }
}
