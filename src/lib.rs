//! stockwatch: an inventory and checkout engine on Redis that never oversells.
//!
//! # Layout
//!
//! The code is a Cargo workspace whose crates are the layers; a crate depends only on the
//! crates below it, and the compiler holds it to that:
//!
//! ```text
//!  stockwatch (this package: the binary, `config`, `commands/`; re-exports the layers)
//!    │
//!    ├─→ stockwatch-tools   bench, soak, plot          (feature `tools`, on by default)
//!    ├─→ stockwatch-server  routes, startup, access, webhooks, telemetry
//!    │        ↓
//!    ├─→ stockwatch-ledger  the books in PostgreSQL    stockwatch-demo   rush, replay, race
//!    │        ↓                                              ↓
//!    ├─→ stockwatch-ops     every stock operation, sagas, alerts, expiry
//!    │        ↓
//!    ├─→ stockwatch-store   Store, txn (the optimistic engine), conn, metrics, events
//!    │        ↓
//!    ├─→ stockwatch-core    keys, error, retry, outcome
//!    │        ↓
//!    ├─→ stockwatch-domain  the validated newtypes, shared with the client
//!    └─→ stockwatch-managed private redis-server, Redis Cluster and PostgreSQL
//!
//! stockwatch-client        the HTTP API from Rust, on stockwatch-domain alone
//! ```
//!
//! Each crate's `lib.rs` says what it is for. This package re-exports every layer under
//! the module name it is known by (`stockwatch::ops`, `stockwatch::store::Store`, …), so a
//! test, an example or a program using stockwatch as a library needs one dependency.
//!
//! - [`domain`] (and [`convert`]): `stockwatch-domain`; [`keys`], [`error`], [`retry`],
//!   [`outcome`]: `stockwatch-core`.
//! - [`store`] (with [`conn`], [`txn`], [`metrics`], [`events`]): `stockwatch-store`.
//! - [`ops`] (with [`expiry`]): `stockwatch-ops`; [`ledger`]: `stockwatch-ledger`.
//! - [`demo`] and [`race`]: `stockwatch-demo`.
//! - [`routes`], [`startup`], [`access`], [`webhooks`], [`telemetry`]: `stockwatch-server`.
//! - [`managed`] (private servers for trials and tests): `stockwatch-managed`.
//! - `bench`, `soak`, `plot`: `stockwatch-tools`, with the `tools` feature.
//! - [`config`]: command-line, environment and config-file settings of the binary, whose
//!   subcommands' bodies live in `src/commands/`.

pub mod config;

pub use stockwatch_core::{Error, StoreError, convert, domain, error, keys, outcome, retry};
pub use stockwatch_demo::{self as demo, race};
pub use stockwatch_ledger as ledger;
pub use stockwatch_managed as managed;
pub use stockwatch_ops::{self as ops, expiry};
pub use stockwatch_server::{access, otlp, routes, startup, telemetry, webhooks};
pub use stockwatch_store::{self as store, Stats, Store, StoreConfig, conn, events, metrics, txn};
#[cfg(feature = "tools")]
pub use stockwatch_tools::{bench, plot, soak};
