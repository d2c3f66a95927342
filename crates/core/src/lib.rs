//! # stockwatch-core: the words every layer speaks
//!
//! Nothing here talks to Redis; every other crate builds on it.
//!
//! - [`domain`]: request newtypes (`Sku`, `Quantity`, `CartItems`, …), built only by `parse`,
//!   and [`domain::Field`], a body field kept raw until its `parse`.
//! - [`keys`]: the Redis key layout, in one place.
//! - [`error`]: every failure, and its HTTP status and contract code, in one place.
//! - [`convert`]: number conversions that saturate instead of wrapping.
//! - [`retry`]: how conflicted transactions back off, and the retry budget.
//! - [`outcome`]: how a call ended and what it cost, the vocabulary that operations produce
//!   and metrics and events record.

pub mod convert;
pub mod domain;
pub mod error;
pub mod keys;
pub mod outcome;
pub mod retry;

pub use error::{Error, StoreError};
