//! Logging setup: `tracing` to stderr, level from `RUST_LOG` (default [`DEFAULT_FILTER`]), either as
//! human-readable lines or as JSON lines (`--log-format json`) for log shippers.
//!
//! Lines go through [`writer`]: a request's thread appends its line to a buffer in memory,
//! and one thread of their own writes them out a burst at a time (lines are dropped, and
//! counted, rather than stall checkout should stderr block). Colour codes are written only
//! when stderr is a terminal, so files and log shippers get plain text.

mod writer;

pub use writer::Flush;

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event, spans (request id, operation) as prefixes.
    #[default]
    Text,
    /// One JSON object per line, with the current span and the span list as fields.
    Json,
}

/// What is logged without `RUST_LOG`: `info`, less actix-http's own ERROR line for a request
/// head it could not parse (a bad header byte, a doubled or negative `Content-Length`,
/// `Content-Length` with `Transfer-Encoding`, too many headers). That is a client's
/// mistake, answered `400` by actix-http before any of our code runs; it is not an error
/// of ours. `RUST_LOG=info,actix_http=debug` shows those lines again.
pub const DEFAULT_FILTER: &str = "info,actix_http::h1::dispatcher=off";

/// Installs the global subscriber once; later calls (tests) are ignored. Keep the guard
/// until the process ends: dropping it flushes the lines still queued.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> Flush {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let (writer, guard) = writer::start();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
    };
    guard
}
