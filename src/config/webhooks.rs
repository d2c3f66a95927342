//! `serve`'s webhook settings.

use crate::webhooks::WebhookConfig;
use std::time::Duration;

/// Which hosts webhooks may reach, and how their deliveries retry.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// Hosts a webhook URL may name, comma-separated: `host` (ports 80 and 443 only),
    /// `host:port`, or `host:*` (any port; for a development receiver); `[::1]:9000` for
    /// IPv6. Exact match; a loopback or private address only when named itself, e.g.
    /// `127.0.0.1:9000`. Empty, the default: webhooks are off and cannot be registered.
    #[arg(
        long,
        env = "STOCKWATCH_WEBHOOK_ALLOW_HOSTS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub webhook_allow_hosts: Vec<String>,
    /// How long one delivery is retried (backoff with jitter) before it becomes a dead
    /// letter, in seconds.
    #[arg(long, env = "STOCKWATCH_WEBHOOK_RETRY_FOR_S", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub webhook_retry_for_s: u64,
    /// Bound on one webhook POST, in milliseconds.
    #[arg(long, env = "STOCKWATCH_WEBHOOK_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub webhook_timeout_ms: u64,
}

impl WebhookArgs {
    /// The settings these flags describe, or which allow-list entry is not one.
    pub fn config(&self) -> Result<WebhookConfig, String> {
        let allow_hosts: Vec<String> = self
            .webhook_allow_hosts
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect();
        for entry in &allow_hosts {
            crate::webhooks::guard::check_allow_entry(entry)?;
        }
        Ok(WebhookConfig {
            allow_hosts,
            retry_for: Duration::from_secs(self.webhook_retry_for_s),
            timeout: Duration::from_millis(self.webhook_timeout_ms),
        })
    }
}
