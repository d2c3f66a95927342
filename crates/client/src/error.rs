//! How a call can fail, told apart by what the caller should do next.

use std::time::Duration;
use stockwatch_domain::{IdempotencyKey, InvalidInput};

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error of the contract (`docs/API.md`): a 4xx, or a 5xx
    /// that retries within the deadline did not get past. Its outcome is known: a refused
    /// take changed nothing.
    #[error("{} {}: {}", .0.status, .0.code, .0.message)]
    Refused(Refusal),
    /// No answer came back for a call that may have reached the server (a timeout, a
    /// connection lost mid-request) and the deadline passed. It may have happened or not:
    /// call again with `key` ([`crate::Client::resuming`]) to get its answer, once.
    #[error("no answer within the deadline; the outcome is unknown (resume with its key): {source}")]
    Unknown {
        /// The call's key; `None` for a call the server does not key (reads, demos).
        key: Option<IdempotencyKey>,
        /// The last failure seen.
        #[source]
        source: reqwest::Error,
    },
    /// The request never left: the server could not be reached (connection refused, DNS).
    #[error("could not reach the server: {0}")]
    Unreachable(#[source] reqwest::Error),
    /// An argument broke the contract's rules; nothing was sent.
    #[error("invalid input: {0}")]
    Invalid(#[from] InvalidInput),
    /// The server answered something this client cannot read: a different version, or not
    /// stockwatch at all.
    #[error("unexpected answer ({status}): {message}")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// What could not be read.
        message: String,
    },
}

impl Error {
    /// The contract's error code (`insufficient_stock`, `unknown_sku`, …) when the server
    /// refused the call.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused(r) => Some(&r.code),
            _ => None,
        }
    }
}

/// An error answer of the contract: `{"error": code, "message", ...extra fields}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The stable, snake_case code.
    pub code: String,
    /// One human sentence.
    pub message: String,
    /// The extra fields the code carries (`sku`, `available`, `requested`, `items`, …).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl Refusal {
    /// Reads an error answer; a body that is not the contract's shape keeps its text as the
    /// message, under the code `unexpected`.
    pub(crate) fn read(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        match serde_json::from_slice(body) {
            Ok(serde_json::Value::Object(fields)) => Self::from_fields(status, fields, retry_after),
            _ => Self::from_fields(status, serde_json::Map::new(), retry_after).with_text(body),
        }
    }

    /// A refusal from an error object's fields (a whole answer's, or one row's of a batch).
    pub(crate) fn from_fields(
        status: u16,
        mut details: serde_json::Map<String, serde_json::Value>,
        retry_after: Option<Duration>,
    ) -> Self {
        let mut text = |field: &str| match details.remove(field) {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        };
        let (code, message) = (text("error"), text("message"));
        Self {
            status,
            code: code.unwrap_or_else(|| "unexpected".into()),
            message: message.unwrap_or_default(),
            details,
            retry_after,
        }
    }

    /// A body that is not the contract's shape: its text, shortened, is the message.
    fn with_text(self, body: &[u8]) -> Self {
        Self {
            message: String::from_utf8_lossy(body).chars().take(200).collect(),
            ..self
        }
    }

    /// An extra field as an integer (`available`, `requested`, …).
    pub fn detail_i64(&self, field: &str) -> Option<i64> {
        self.details.get(field).and_then(serde_json::Value::as_i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_contracts_error_shape() {
        let body = br#"{"error":"insufficient_stock","message":"short","sku":"ps5","available":2}"#;
        let r = Refusal::read(409, body, None);
        assert_eq!((r.code.as_str(), r.message.as_str()), ("insufficient_stock", "short"));
        assert_eq!(r.detail_i64("available"), Some(2));
        assert!(!r.details.contains_key("error"));
        let other = Refusal::read(502, b"<html>bad gateway</html>", Some(Duration::from_secs(1)));
        assert_eq!(other.code, "unexpected");
        assert!(other.message.contains("bad gateway"));
        assert_eq!(Error::Refused(other).code(), Some("unexpected"));
    }
}
