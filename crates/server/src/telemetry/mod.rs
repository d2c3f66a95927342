//! Logging setup: `tracing` to stderr, level from `RUST_LOG` (default [`DEFAULT_FILTER`]), either as
//! human-readable lines or as JSON lines (`--log-format json`) for log shippers.
//!
//! Lines go through `writer`: a request's thread appends its line to a buffer in memory,
//! and one thread of their own writes them out a burst at a time (lines are dropped, and
//! counted, rather than stall checkout should stderr block). Colour codes are written only
//! when stderr is a terminal, so files and log shippers get plain text.

mod writer;

pub use writer::Flush;

use std::io::IsTerminal;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry};

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
    let (writer, guard) = writer::start();
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| DEFAULT_FILTER.to_owned());
    match targets_only(&directives) {
        Some(targets) => install(targets, format, writer),
        None => {
            let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
            install(filter, format, writer);
        }
    }
    guard
}

/// `RUST_LOG` as a filter of targets and levels only, when it is one: such a filter decides
/// per call site once, where `EnvFilter` takes a lock shared by every thread on each span
/// enter, exit and record, for span and field directives (`[span{field}]=level`) that
/// most deployments never write. `None` when the directives need `EnvFilter` (or do not
/// parse: `EnvFilter` then says what it does with them, as it always did).
fn targets_only(directives: &str) -> Option<Targets> {
    match directives.trim().is_empty() || directives.contains(['[', '{']) {
        true => None,
        false => directives.parse().ok(),
    }
}

/// Installs `filter` in front of the formatter.
fn install<F>(filter: F, format: LogFormat, writer: writer::Lines)
where
    F: Layer<Registry> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    let subscriber = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Text => subscriber.with(lines).try_init(),
        LogFormat::Json => subscriber
            .with(lines.json().with_current_span(true).with_span_list(true))
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn targets_and_levels_get_the_lock_free_filter_and_span_directives_do_not() {
        let default = targets_only(DEFAULT_FILTER).unwrap();
        assert!(default.would_enable("stockwatch_server::routes", &Level::INFO));
        assert!(!default.would_enable("stockwatch_server::routes", &Level::DEBUG));
        assert!(!default.would_enable("actix_http::h1::dispatcher", &Level::ERROR));
        assert_eq!(default.default_level(), Some(LevelFilter::INFO));
        let debug = targets_only("warn,stockwatch_ops=debug").unwrap();
        assert!(debug.would_enable("stockwatch_ops::take", &Level::DEBUG));
        assert!(!debug.would_enable("actix_web", &Level::INFO));
        assert!(targets_only("info,[request{strategy=lua}]=debug").is_none());
        assert!(
            targets_only("  ").is_none(),
            "an empty RUST_LOG keeps EnvFilter's meaning"
        );
        assert!(targets_only("info,=bogus=").is_none());
    }
}
