//! # stockwatch-tools: measure it
//!
//! - [`bench`]: the benchmark harness (`stockwatch bench`, `bench sweep`, `cargo bench`);
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
