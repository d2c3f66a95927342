//! Infrastructure failures, and how Redis's errors map onto them.

use std::sync::Arc;

/// Infrastructure failures: Redis could not do what was asked. Each keeps its [`Cause`],
/// so `source()` reaches Redis's own error where there was one.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No answer within the response timeout (paused, overloaded or partitioned server).
    #[error("redis did not answer within the response timeout")]
    Timeout,
    /// Connection refused, reset or closed; the pool could not hand out a connection.
    #[error("redis is unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// Redis refused a write because `maxmemory` is reached; nothing was written.
    #[error("redis is out of memory: {0}")]
    OutOfMemory(#[source] Cause),
    /// A command failed inside EXEC after others applied (Redis has no rollback), or the
    /// transaction was refused at queue time. Data may need `stockwatch verify`.
    #[error("transaction failed inside EXEC: {0}")]
    ExecFailed(#[source] Cause),
    /// A reply did not have the shape we wrote: corrupt data or a foreign key.
    #[error("unexpected reply from redis: {0}")]
    Protocol(#[source] Cause),
    /// On a cluster, the slot moved or is moving (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`):
    /// nothing was committed, and the attempt is retried against the new owner.
    #[error("redis cluster slot moved: {0}")]
    Moved(#[source] Cause),
}

/// What a [`StoreError`] came from: Redis's error, kept whole (for its code and its
/// source), the connection pool's, or what stockwatch itself found wrong with a reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Cause {
    /// Redis or redis-rs said so.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    /// One command inside an EXEC failed while the others applied.
    #[error("command {index} of {of} inside EXEC failed ({source}); the others applied")]
    InExec {
        /// Its place in the transaction, from 1.
        index: usize,
        /// How many commands the transaction had.
        of: usize,
        /// Redis's error for it.
        source: redis::RedisError,
    },
    /// The pool could not lend a connection.
    #[error(transparent)]
    Pool(Arc<deadpool_redis::PoolError>),
    /// stockwatch found it: a reply of the wrong shape, a slot no master serves.
    #[error("{0}")]
    Found(String),
    /// A failure of a layer above this crate (connecting to a node), kept whole.
    #[error(transparent)]
    Other(Arc<dyn std::error::Error + Send + Sync>),
}

impl From<String> for Cause {
    fn from(what: String) -> Self {
        Self::Found(what)
    }
}

impl From<&str> for Cause {
    fn from(what: &str) -> Self {
        Self::Found(what.to_owned())
    }
}

/// Whether Redis answered `e` with the error `code` (`OOM`, `BUSYGROUP`, …), alone or as
/// one of a pipeline's or an aborted transaction's errors.
pub fn has_code(e: &redis::RedisError, code: &str) -> bool {
    e.code() == Some(code)
        || e.clone()
            .into_server_errors()
            .is_some_and(|errors| errors.iter().any(|(_, server)| server.code() == code))
}

impl StoreError {
    /// A short, bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Unavailable(_) => "unavailable",
            Self::OutOfMemory(_) => "out_of_memory",
            Self::ExecFailed(_) => "exec_failed",
            Self::Protocol(_) => "protocol",
            Self::Moved(_) => "moved",
        }
    }

    /// Whether Redis said this with the error `code` (`BUSYGROUP`, `NOGROUP`, …).
    pub fn is_redis(&self, code: &str) -> bool {
        match self {
            Self::Timeout => false,
            Self::Unavailable(c) | Self::OutOfMemory(c) | Self::ExecFailed(c) | Self::Protocol(c) | Self::Moved(c) => {
                matches!(c, Cause::Redis(e) | Cause::InExec { source: e, .. } if has_code(e, code))
            }
        }
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        if has_code(&e, "OOM") {
            Self::OutOfMemory(e.into())
        } else if matches!(e.code(), Some("MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN")) {
            Self::Moved(e.into())
        } else if e.is_timeout() {
            Self::Timeout
        } else if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_unrecoverable_error()
            || matches!(e.code(), Some("LOADING" | "BUSY" | "MASTERDOWN"))
        {
            Self::Unavailable(e.into())
        } else {
            Self::Protocol(e.into())
        }
    }
}

impl From<redis::ParsingError> for StoreError {
    fn from(e: redis::ParsingError) -> Self {
        Self::Protocol(redis::RedisError::from(e).into())
    }
}

impl From<deadpool_redis::PoolError> for StoreError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        match e {
            deadpool_redis::PoolError::Backend(e) => e.into(),
            other => Self::Unavailable(Cause::Pool(Arc::new(other))),
        }
    }
}
