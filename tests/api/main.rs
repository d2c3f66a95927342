//! Integration tests: one binary, each test against its own real redis-server (started by
//! `helpers`, in a temp dir, on a Unix socket, killed on drop) and a fresh key prefix.

// A rush's spawned futures (library purchases through the store's cluster-capable
// connections) nest deeper than rustc's default query depth on a clean build, as in the lib.
#![recursion_limit = "256"]
// A test binary has no public API: `pub` only shares helpers between its modules.
#![allow(unreachable_pub, missing_debug_implementations)]
// Tests count small, known numbers; casting them is clearer than converting.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss)]

mod after_sale;
mod alerts;
mod bench;
mod catalog;
mod checkout;
mod client;
mod cluster;
mod dashboard;
mod demo;
mod drops;
mod engine;
mod errors;
mod expiry;
mod failover;
mod faults;
mod feed;
mod fleet;
mod group_commit;
mod hardening;
mod helpers;
mod idempotency;
mod import;
mod incoming;
mod keys;
mod lanes;
mod layout;
mod ledger;
mod low_stock;
mod low_stock_at;
mod movements;
mod operability;
mod otlp;
mod preorders;
mod props;
mod proxy;
mod purchase;
mod receiver;
mod requests;
mod reservations;
mod resharding;
mod retire;
mod safety_stock;
mod saga;
mod scans;
mod security;
mod server;
mod settings_mark;
mod shared_writes;
mod soak;
mod stockroom;
mod verify;
mod waiting_room;
