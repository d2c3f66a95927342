//! The pool of dedicated connections WATCH needs: deadpool, with a recycle that costs no
//! round trip under load (docs/DESIGN.md, section 3, has the facts this rests on).
//!
//! deadpool-redis checks every connection it lends with `UNWATCH` + `PING`: one extra round
//! trip per transaction. Here that check runs only for a connection that sat idle (past
//! [`IDLE_CHECK`]): such a loan is rare and not on a busy path, and it covers every borrower,
//! the audits' cluster SCANs included. A connection lent again at once needs neither:
//! - **No WATCH survives a borrower.** The engine (`txn`) ends every attempt with EXEC or
//!   UNWATCH, and closes instead of pooling a connection it abandons mid-transaction
//!   (timeout, error, dropped future). As a second guard, the engine's WATCH pipeline opens
//!   with `UNWATCH`, which costs no round trip.
//! - **A dead connection is found on use.** After a Redis restart, pooled connections are
//!   dead; the engine's first command on one fails before anything is written, and the
//!   engine closes it and borrows another ([`reused`] tells which may be stale).

use std::time::Duration;

use deadpool::managed::{Metrics, RecycleResult};

/// A connection unused for longer than this is checked (`UNWATCH` + `PING`) before a loan.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// A pool of dedicated connections to one server.
pub(crate) type Pool = deadpool::managed::Pool<Manager>;
/// A connection borrowed from a `Pool`.
pub type Pooled = deadpool::managed::Object<Manager>;

/// deadpool-redis's manager for making connections, without its per-loan round trip.
#[derive(Debug)]
pub struct Manager(deadpool_redis::Manager);

impl Manager {
    /// A manager for `url`, with `config`'s timeouts.
    pub fn new(url: &str, config: redis::AsyncConnectionConfig) -> Result<Self, redis::RedisError> {
        deadpool_redis::Manager::new_with_config(url, config).map(Self)
    }
}

impl deadpool::managed::Manager for Manager {
    type Type = redis::aio::MultiplexedConnection;
    type Error = redis::RedisError;

    async fn create(&self) -> Result<Self::Type, Self::Error> {
        self.0.create().await
    }

    /// Nothing to send unless the connection sat idle: see the module documentation.
    async fn recycle(&self, conn: &mut Self::Type, metrics: &Metrics) -> RecycleResult<Self::Error> {
        if metrics.last_used() < IDLE_CHECK {
            return Ok(());
        }
        self.0.recycle(conn, metrics).await
    }
}

/// Whether `conn` was lent before: only such a connection can have died in the pool.
pub fn reused(conn: &Pooled) -> bool {
    Pooled::metrics(conn).recycle_count > 0
}
