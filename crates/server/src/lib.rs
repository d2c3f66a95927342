//! # stockwatch-server: the HTTP service
//!
//! - [`routes`]: thin actix-web handlers, one file each; [`routes::api`] holds the request
//!   bodies, parameters and refusal sets that both the handlers and the OpenAPI document
//!   use;
//! - [`startup`]: wires them, the expiry worker, the ledger projector and the webhook sender
//!   into an [`startup::Application`];
//! - [`access`]: client API keys and their scopes: made by `stockwatch keys`, stored as
//!   digests, checked through a short-lived keyring;
//! - [`webhooks`]: alerts POSTed to registered URLs, signed, at least once, with an SSRF
//!   guard, retries and dead letters;
//! - [`telemetry`]: how the service writes its logs; [`otlp`]: request spans exported to
//!   an OpenTelemetry collector, when one is configured.

#![recursion_limit = "256"]

pub mod access;
pub mod admission;
pub mod otlp;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod webhooks;

// The layers below, by the names this crate's modules use for them.
use stockwatch_core::{convert, domain, error};
use stockwatch_demo as demo;
use stockwatch_ledger as ledger;
use stockwatch_ops::{self as ops, expiry};
use stockwatch_store::{self as store, events};
