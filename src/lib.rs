//! stockwatch: an inventory and checkout engine on Redis that never oversells.
//!
//! # Layout
//!
//! Floors import only downward; nothing imports a module that imports it back
//! (`tests/api/layout.rs` reads `src/` and holds the code to this):
//!
//! ```text
//! routes ─→ ops ─→ txn ─→ store ─→ conn, keys, domain, error, retry, outcome
//!    │        │                 └─→ metrics, events (beside the store) ─→ conn
//!    └─→ demo ┘    expiry, ledger, webhooks, access ─→ ops, txn, store     bench, soak ─→ ops, store
//!  config, startup: the top; routes ─→ ledger (aged-out orders), webhooks
//!  demo, bench ─→ race ─→ error, outcome
//! ```
//!
//! - [`domain`]: request newtypes (`Sku`, `Quantity`, `CartItems`, …), built only by `parse`,
//!   and [`domain::Field`], a body field kept raw until its `parse`.
//! - [`keys`]: the Redis key layout, in one place.
//! - [`error`]: every failure, and its HTTP status and contract code, in one place.
//! - [`retry`]: how conflicted transactions back off; [`outcome`]: how a call ended and what
//!   it cost, the vocabulary that operations produce and metrics and events record.
//! - [`conn`]: where Redis is (one server or a cluster, [`conn::Target`]) and the shared
//!   multiplexed connection of either kind.
//! - [`store`]: the connections (dedicated ones for WATCH, per master on a cluster, lent
//!   without a round trip; the multiplexed one for scripts and reads) and the response
//!   timeout. It keeps the operations' per-process
//!   state (group commit) in a slot typed by them, so it never names a floor above it.
//! - [`metrics`]: the Prometheus registry behind `GET /metrics`; [`events`]: the stock-change
//!   feed behind `GET /v1/events`, published after each commit. Both sit beside the store.
//! - [`txn`]: the optimistic-transaction engine. Operations supply watch keys, a read and a
//!   pure decision; the engine owns WATCH/MULTI/EXEC, UNWATCH, reply checks and backoff.
//! - [`ops`]: the stock operations, one file each, each on `watch`, `lua` or `broken`;
//!   `ops/take/` is the decision behind purchases, checkouts and reservations, and
//!   `ops/saga/` takes a cart across cluster slots (holds, one decision, parts that follow).
//!   The stockroom: `ops::level` is a SKU's stock hash with its locations and how a line is
//!   drawn from them; transfers and counted adjustments sit beside set and restock; and
//!   `ops::alerts` decides each stock alert inside the change that crosses it
//!   (`src/lua/alerts.lua`).
//! - [`expiry`]: the worker that releases lapsed reservations, driven by a ZSET of deadlines.
//! - [`ledger`]: the projector that moves every change into PostgreSQL exactly once (each
//!   change's entry is written by `ops::journal` in the same MULTI or script), and the
//!   reads of those books (`verify --ledger`, aged-out orders).
//! - [`webhooks`]: alerts POSTed to registered URLs, signed, at least once, with an SSRF
//!   guard, retries and dead letters.
//! - [`access`]: client API keys and their scopes: made by `stockwatch keys`, stored as
//!   digests, checked by the server through a short-lived keyring.
//! - [`routes`]: thin actix-web handlers, one file each; [`routes::api`] holds the request
//!   bodies, parameters and refusal sets that both the handlers and the OpenAPI document
//!   use; [`startup`] wires them into an [`startup::Application`].
//! - [`managed_redis`]: runs a private `redis-server` when no `REDIS_URL` is given;
//!   [`managed_cluster`]: a private 3-master Redis Cluster (`scripts/cluster.sh`, tests);
//!   [`managed_postgres`]: a private PostgreSQL for the ledger's tests and trials.
//! - [`config`]: command-line, environment and config-file settings; [`telemetry`]: logs.
//! - [`bench`]: the benchmark harness (`stockwatch bench`, `bench sweep`, `cargo bench`).
//! - [`soak`]: the long mixed-workload run against a server (`stockwatch soak`).
//! - [`race`]: what a race looked like from its buyers' answers: fairness (who won), the
//!   timeline of stock over time, and its picture. Shared by the demos and the bench.
//! - [`demo`]: the teaching demos (`stockwatch demo race`, the dashboard's rush).
//!
//! The binary (`main.rs`, with each subcommand's body in `commands/`) sits on top of it all.

#![forbid(unsafe_code)]
// The async futures of a bench setup (set stock through the store's cluster-capable
// connections) nest deeper than rustc's default query depth on a clean build.
#![recursion_limit = "256"]
#![warn(missing_docs)]

pub mod access;
pub mod bench;
pub mod config;
pub mod conn;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod expiry;
pub mod keys;
pub mod ledger;
pub mod managed_cluster;
pub mod managed_postgres;
pub mod managed_redis;
pub mod metrics;
pub mod ops;
pub mod outcome;
pub mod race;
pub mod retry;
pub mod routes;
pub mod soak;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod txn;
pub mod webhooks;

pub use error::{Error, StoreError};
pub use store::{Stats, Store, StoreConfig};
