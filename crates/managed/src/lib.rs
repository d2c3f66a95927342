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
