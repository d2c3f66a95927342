//! stockwatch: an inventory and checkout engine on Redis that never oversells.
//!
//! # Layout
//!
//! - [`domain`]: request newtypes (`Sku`, `Quantity`, `CartItems`, …), built only by `parse`.
//! - [`keys`]: the Redis key layout, in one place.
//! - [`store`]: the connections (a pool of dedicated ones for WATCH, one multiplexed one
//!   for scripts and reads) and the response timeout.
//! - [`txn`]: the optimistic-transaction engine. Operations supply watch keys, a read and a
//!   pure decision; the engine owns WATCH/MULTI/EXEC, UNWATCH, reply checks and backoff.
//! - [`ops`]: the stock operations, one file each, each on `watch`, `lua` or `broken`.
//! - [`expiry`]: the worker that releases lapsed reservations, driven by a ZSET of deadlines.
//! - [`metrics`]: the Prometheus registry behind `GET /metrics`; [`events`]: the stock-change
//!   feed behind `GET /v1/events`, published after each commit.
//! - [`error`]: every failure, and its HTTP status and contract code, in one place.
//! - [`routes`]: thin actix-web handlers, one file each; [`startup`] wires them into an
//!   [`startup::Application`].
//! - [`managed_redis`]: runs a private `redis-server` when no `REDIS_URL` is given.
//! - [`config`]: command-line and environment settings.
//! - [`bench`]: the benchmark harness (`stockwatch bench`, `bench sweep`, `cargo bench`).
//! - [`soak`]: the long mixed-workload run against a server (`stockwatch soak`).
//! - [`demo`]: the teaching demos (`stockwatch demo race`, the dashboard's rush).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod expiry;
pub mod keys;
pub mod managed_redis;
pub mod metrics;
pub mod ops;
pub mod outcome;
pub mod retry;
pub mod routes;
pub mod soak;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod txn;

pub use error::{Error, StoreError};
pub use store::{Stats, Store, StoreConfig};
