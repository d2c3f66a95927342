//! Webhooks: alerts POSTed to a shop's own systems, signed, at least once.
//!
//! - `registry` (here): `POST`/`GET`/`DELETE /v1/webhooks`, kept in one Redis hash. A URL
//!   must be `http(s)` to a host in `--webhook-allow-hosts`; secrets are never returned or
//!   logged after creation.
//! - [`guard`]: the SSRF rules, checked again at delivery against the resolved address,
//!   and the connection pinned to the address checked.
//! - [`sender`]: every `serve` process follows the alert streams in one consumer group
//!   (`webhooks`), so each alert is handled by one process; each delivery is retried with
//!   backoff and jitter for `--webhook-retry-for-s`, then kept as a dead letter the admin
//!   API lists and replays. An alert is acknowledged only once each of its deliveries
//!   succeeded or became a dead letter: a process that dies mid-way leaves it pending, and
//!   another claims it (so a receiver may see one twice: it dedupes on `id`).
//!
//! Checkout never waits for any of this: alerts are written in the transaction, and the
//! sender is a background task with its own timeouts.

pub mod guard;
pub mod sender;

use crate::domain::AlertKind;
use crate::error::{Error, StoreError};
use crate::store::Store;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How webhooks are allowed and delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Hosts a webhook URL may name (exact, case-insensitive). Empty: webhooks are off.
    pub allow_hosts: Vec<String>,
    /// How long one delivery is retried before it becomes a dead letter.
    pub retry_for: Duration,
    /// Bound on one POST.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_hosts: Vec::new(),
            retry_for: Duration::from_secs(600),
            timeout: Duration::from_secs(5),
        }
    }
}

impl WebhookConfig {
    /// Whether any webhook can be registered (and so a sender is worth running).
    pub fn enabled(&self) -> bool {
        !self.allow_hosts.is_empty()
    }
}

/// A registered webhook as stored. Its secret is a [`SecretString`], so `Debug` hides it;
/// it is written out only here, into the stored JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    /// UUIDv7.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The HMAC key of its signatures.
    #[serde(serialize_with = "expose")]
    pub secret: SecretString,
    /// The alert types it receives.
    pub events: Vec<AlertKind>,
    /// When it was registered, epoch ms.
    pub created_at: i64,
}

fn expose<S: serde::Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// A webhook as the API shows it: never with its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    /// Its id, for `DELETE /v1/webhooks/{id}`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The alert types it receives.
    #[schema(value_type = Vec<String>)]
    pub events: Vec<AlertKind>,
    /// When it was registered, epoch ms.
    pub created_at: i64,
}

impl From<&Stored> for Webhook {
    fn from(s: &Stored) -> Self {
        Self {
            id: s.id.clone(),
            url: s.url.clone(),
            events: s.events.clone(),
            created_at: s.created_at,
        }
    }
}

/// The `200` body of `GET /v1/webhooks`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub webhooks: Vec<Webhook>,
}

/// A checked registration (`routes::api` parses the body into it).
#[derive(Debug)]
pub struct NewWebhook {
    /// Passed [`guard::check_url`].
    pub url: url::Url,
    /// 16-256 visible ASCII characters.
    pub secret: SecretString,
    /// No repeats.
    pub events: Vec<AlertKind>,
}

/// Registers a webhook.
pub async fn create(store: &Store, hook: NewWebhook) -> Result<Webhook, Error> {
    let stored = Stored {
        id: uuid::Uuid::now_v7().to_string(),
        url: hook.url.to_string(),
        secret: hook.secret,
        events: hook.events,
        created_at: crate::ops::now_ms(),
    };
    let json = serde_json::to_string(&stored).expect("webhooks serialize");
    let _: () = store
        .query(
            redis::cmd("HSET")
                .arg(store.keys().webhooks())
                .arg(&stored.id)
                .arg(json),
        )
        .await?;
    tracing::info!(webhook = %stored.id, url = %stored.url, "webhook registered");
    Ok(Webhook::from(&stored))
}

/// Every registered webhook, with its secret (for the sender only).
pub async fn load(store: &Store) -> Result<Vec<Stored>, StoreError> {
    let all: std::collections::HashMap<String, String> =
        store.query(redis::cmd("HGETALL").arg(store.keys().webhooks())).await?;
    let mut hooks: Vec<Stored> = all.values().filter_map(|j| serde_json::from_str(j).ok()).collect();
    hooks.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(hooks)
}

/// Every registered webhook, as the API shows them.
pub async fn list(store: &Store) -> Result<WebhookList, Error> {
    let hooks = load(store).await?;
    Ok(WebhookList {
        webhooks: hooks.iter().map(Webhook::from).collect(),
    })
}

/// Removes a webhook and its dead letters (they could never be delivered); `false` when
/// there was none. Deliveries under way stop before their next retry.
pub async fn delete(store: &Store, id: &str) -> Result<bool, Error> {
    let removed: i64 = store
        .query(redis::cmd("HDEL").arg(store.keys().webhooks()).arg(id))
        .await?;
    sender::bury_letters_of(store, id).await?;
    Ok(removed == 1)
}

/// Why one delivery failed. Its text is what a dead letter keeps as its `error`.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The webhook was deleted between tries: the delivery stops, and is not kept.
    #[error("the webhook was deleted")]
    Deleted,
    /// The stored URL no longer parses.
    #[error("bad url: {0}")]
    BadUrl(#[from] url::ParseError),
    /// The URL has no host or no port.
    #[error("no {0}")]
    Incomplete(&'static str),
    /// The allow list changed since the webhook was registered.
    #[error("host {host} port {port} is no longer allowed")]
    NotAllowed {
        /// The URL's host.
        host: String,
        /// The URL's port.
        port: u16,
    },
    /// The host did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The URL's host.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// Every address the host resolves to is one webhooks may not reach.
    #[error("{0} resolves only to addresses webhooks may not reach")]
    Unreachable(String),
    /// The HTTP request failed (its URL is left out: it may hold a token).
    #[error("{0}")]
    Http(#[source] reqwest::Error),
    /// The receiver answered, but not 2xx.
    #[error("the receiver answered {0}")]
    Status(reqwest::StatusCode),
}

#[cfg(test)]
mod tests {
    use super::Stored;
    use secrecy::ExposeSecret;

    #[test]
    fn a_stored_webhook_keeps_its_secret_in_redis_and_out_of_debug() {
        let json = r#"{"id":"w1","url":"http://127.0.0.1:9/h","secret":"whsec_0123456789abcdef","events":["low_stock"],"created_at":1}"#;
        let stored: Stored = serde_json::from_str(json).expect("parses");
        assert!(!format!("{stored:?}").contains("whsec_"));
        assert_eq!(stored.secret.expose_secret(), "whsec_0123456789abcdef");
        assert_eq!(serde_json::to_string(&stored).expect("serializes"), json);
    }
}
