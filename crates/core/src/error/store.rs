//! Infrastructure failures, and how Redis's errors map onto them.

/// Infrastructure failures: Redis could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No answer within the response timeout (paused, overloaded or partitioned server).
    #[error("redis did not answer within the response timeout")]
    Timeout,
    /// Connection refused, reset or closed; the pool could not hand out a connection.
    #[error("redis is unavailable: {0}")]
    Unavailable(String),
    /// Redis refused a write because `maxmemory` is reached; nothing was written.
    #[error("redis is out of memory: {0}")]
    OutOfMemory(String),
    /// A command failed inside EXEC after others applied (Redis has no rollback), or the
    /// transaction was refused at queue time. Data may need `stockwatch verify`.
    #[error("transaction failed inside EXEC: {0}")]
    ExecFailed(String),
    /// A reply did not have the shape we wrote: corrupt data or a foreign key.
    #[error("unexpected reply from redis: {0}")]
    Protocol(String),
    /// On a cluster, the slot moved or is moving (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`):
    /// nothing was committed, and the attempt is retried against the new owner.
    #[error("redis cluster slot moved: {0}")]
    Moved(String),
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
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        if e.code() == Some("OOM") || e.to_string().contains("OOM") {
            Self::OutOfMemory(e.to_string())
        } else if matches!(e.code(), Some("MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN")) {
            Self::Moved(e.to_string())
        } else if e.is_timeout() {
            Self::Timeout
        } else if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_unrecoverable_error()
            || matches!(e.code(), Some("LOADING" | "BUSY" | "MASTERDOWN"))
        {
            Self::Unavailable(e.to_string())
        } else {
            Self::Protocol(e.to_string())
        }
    }
}

impl From<redis::ParsingError> for StoreError {
    fn from(e: redis::ParsingError) -> Self {
        Self::Protocol(e.to_string())
    }
}

impl From<deadpool_redis::PoolError> for StoreError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        match e {
            deadpool_redis::PoolError::Backend(e) => e.into(),
            other => Self::Unavailable(other.to_string()),
        }
    }
}
