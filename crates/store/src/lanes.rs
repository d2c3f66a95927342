//! Lanes: handles on one store with connections of their own (one per server worker
//! thread), and the pool metrics summed over all of them.

use crate::Store;
use crate::connections::{ConnectError, Redis};
use std::sync::Arc;

impl Store {
    /// The same store (settings, metrics, events, budget) on connections of its own, made
    /// lazily on the runtime that first uses them. A server gives each of its worker threads
    /// one, so that a request never wakes another thread to reach Redis: a multiplexed
    /// connection's reader and writer are a task on the thread that made it.
    pub fn lane(&self) -> Result<Self, ConnectError> {
        let redis = Arc::new(Redis::open(&self.inner.target, &self.config)?);
        self.inner.lanes.lock().expect("lanes lock").push(redis.clone());
        Ok(Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
            redis,
        })
    }

    /// `GET /metrics`: every metric, with the pools (every lane's, every master's) sampled now.
    pub fn render_metrics(&self) -> String {
        let lanes = self.inner.lanes.lock().expect("lanes lock");
        let status = lanes
            .iter()
            .map(|redis| redis.pool_status())
            .reduce(|a, b| deadpool_redis::Status {
                max_size: a.max_size + b.max_size,
                size: a.size + b.size,
                available: a.available + b.available,
                waiting: a.waiting + b.waiting,
            });
        self.inner
            .metrics
            .render(status.unwrap_or_else(|| self.redis.pool_status()))
    }
}
