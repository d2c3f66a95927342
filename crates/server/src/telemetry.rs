//! Logging setup: `tracing` to stderr, level from `RUST_LOG` (default [`DEFAULT_FILTER`]), either as
//! human-readable lines or as JSON lines (`--log-format json`) for log shippers.
//!
//! Lines go through `tracing-appender`'s non-blocking writer: a request's worker thread only
//! queues its line, and one background thread writes. Should the queue ever fill (stderr
//! blocked by a stuck reader), lines are dropped rather than stalling checkout. That thread
//! writes in batches: whatever queued up while it wrote last goes out in one write. Colour
//! codes are written only when stderr is a terminal, so files and log shippers get plain
//! text.

use std::io::IsTerminal;
use tracing_appender::non_blocking::WorkerGuard;
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
pub fn init(format: LogFormat) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Buffered: the writer thread drains every queued line into the buffer and flushes when
    // the queue is empty, so a burst of requests costs one write(2), not one per line.
    let (writer, guard) =
        tracing_appender::non_blocking(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()));
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
