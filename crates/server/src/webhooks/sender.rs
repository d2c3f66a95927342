//! Delivering alerts to webhooks: one consumer group over the alert streams, signed POSTs,
//! retries with backoff and jitter for a bounded time, then dead letters.

use super::{DeliveryError, Stored, WebhookConfig, guard, load};
use crate::error::{Error, StoreError};
use crate::ops::Inventory;
use crate::ops::alerts::{Alert, alert_slots};
use crate::store::Store;
use backon::{ExponentialBuilder, Retryable};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The consumer group every sender reads in.
const GROUP: &str = "webhooks";
/// How often the streams are read for new alerts.
const POLL: Duration = Duration::from_millis(200);
/// Deliveries in flight at once, per process.
const IN_FLIGHT: usize = 64;
/// The signature header: `sha256=<hex HMAC-SHA256 of the raw body>`, as Stripe, GitHub and
/// Shopify sign theirs.
pub const SIGNATURE: &str = "X-Stockwatch-Signature";

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A delivery that ran out of retries, as `GET /v1/webhooks/dead-letters` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// `<alert id>/<webhook id>`: what a replay names.
    pub id: String,
    /// The webhook it was for.
    pub webhook_id: String,
    /// The alert it carried.
    pub alert: Alert,
    /// Tries made.
    pub attempts: u32,
    /// The last failure, in a sentence.
    pub error: String,
    /// When it was given up on, epoch ms.
    pub at: i64,
}

/// Runs until `stop` fires: follows every alert stream in the group, delivering each alert
/// to each webhook subscribed to its type.
pub async fn run(store: Inventory, config: WebhookConfig, mut stop: tokio::sync::broadcast::Receiver<()>) {
    let consumer = format!("sender-{}", uuid::Uuid::now_v7());
    let slots_in_group: std::sync::Mutex<HashSet<u16>> = Default::default();
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let config = Arc::new(config);
    loop {
        if let Err(e) = round(&store, &config, &consumer, &slots_in_group, &permits).await {
            tracing::warn!(error = %e, "webhooks: a round failed; trying again");
        }
        tokio::select! {
            _ = stop.recv() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

async fn round(
    store: &Store,
    config: &Arc<WebhookConfig>,
    consumer: &str,
    in_group: &std::sync::Mutex<HashSet<u16>>,
    permits: &Arc<Semaphore>,
) -> Result<(), StoreError> {
    let hooks = Arc::new(load(store).await?);
    for slot in alert_slots(store, None).await? {
        let key = store.keys().alerts(slot);
        if !in_group.lock().expect("not poisoned").contains(&slot) {
            // From the stream's start: alerts raised before any sender ran are still sent.
            let made: Result<(), StoreError> = store
                .query(
                    redis::cmd("XGROUP")
                        .arg("CREATE")
                        .arg(&key)
                        .arg(GROUP)
                        .arg("0")
                        .arg("MKSTREAM"),
                )
                .await;
            match made {
                Ok(()) => {}
                Err(e) if e.is_redis("BUSYGROUP") => {}
                Err(e) => return Err(e),
            }
            in_group.lock().expect("not poisoned").insert(slot);
        }
        // Entries a dead sender left pending, once idle past any delivery's whole retry time.
        let idle = crate::convert::millis(config.retry_for + config.timeout * 2);
        let claimed: redis::streams::StreamAutoClaimReply = store
            .query(
                redis::cmd("XAUTOCLAIM")
                    .arg(&key)
                    .arg(GROUP)
                    .arg(consumer)
                    .arg(idle)
                    .arg("0")
                    .arg("COUNT")
                    .arg(50),
            )
            .await?;
        let reply: redis::streams::StreamReadReply = store
            .query(
                redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(100)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(">"),
            )
            .await?;
        let mut entries = claimed.claimed;
        entries.extend(reply.keys.into_iter().flat_map(|k| k.ids));
        for entry in entries {
            let (store, config, hooks, key) = (store.clone(), Arc::clone(config), Arc::clone(&hooks), key.clone());
            let permit = Arc::clone(permits).acquire_owned().await.expect("never closed");
            tokio::spawn(async move {
                match Alert::from_entry(slot, &entry) {
                    Ok(alert) => {
                        let wanted = hooks.iter().filter(|h| h.events.contains(&alert.kind));
                        futures_util::future::join_all(wanted.map(|h| deliver_or_bury(&store, &config, h, &alert)))
                            .await;
                    }
                    Err(e) => tracing::warn!(error = %e, "webhooks: skipping an unreadable alert"),
                }
                let acked: Result<i64, StoreError> = store
                    .query(redis::cmd("XACK").arg(&key).arg(GROUP).arg(&entry.id))
                    .await;
                if let Err(e) = acked {
                    tracing::warn!(error = %e, "webhooks: ack failed; the alert will be sent again");
                }
                drop(permit);
            });
        }
    }
    Ok(())
}

/// Delivers with retries; on giving up, keeps the delivery as a dead letter.
async fn deliver_or_bury(store: &Store, config: &WebhookConfig, hook: &Stored, alert: &Alert) {
    let attempts = std::sync::atomic::AtomicU32::new(0);
    let result = deliver_with_retries(store, config, hook, alert, &attempts).await;
    if let Err(error) = result {
        if matches!(error, DeliveryError::Deleted) {
            tracing::info!(webhook = %hook.id, alert = %alert.id, "webhook deleted; its delivery stopped");
            return;
        }
        let dead = DeadLetter {
            id: format!("{}/{}", alert.id, hook.id),
            webhook_id: hook.id.clone(),
            alert: alert.clone(),
            attempts: attempts.into_inner(),
            error: error.to_string(),
            at: crate::ops::now_ms(),
        };
        tracing::warn!(webhook = %hook.id, alert = %alert.id, error = %dead.error, "webhook delivery gave up; kept as a dead letter");
        store.metrics().webhook_dead_lettered.inc();
        let json = serde_json::to_string(&dead).expect("dead letters serialize");
        let kept: Result<(), StoreError> = store
            .query(
                redis::cmd("HSET")
                    .arg(store.keys().webhooks_dead())
                    .arg(&dead.id)
                    .arg(json),
            )
            .await;
        if let Err(e) = kept {
            tracing::warn!(error = %e, "webhooks: could not keep a dead letter");
        }
    }
}

/// One delivery, tried with exponential backoff and full jitter until it succeeds,
/// `retry_for` has passed, or the webhook is deleted (checked before each retry).
async fn deliver_with_retries(
    store: &Store,
    config: &WebhookConfig,
    hook: &Stored,
    alert: &Alert,
    attempts: &std::sync::atomic::AtomicU32,
) -> Result<(), DeliveryError> {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay((config.retry_for / 4).clamp(Duration::from_millis(200), Duration::from_secs(60)))
        .with_jitter()
        .without_max_times()
        .with_total_delay(Some(config.retry_for));
    (|| async {
        let tried = attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if tried > 0 {
            let exists: Result<bool, StoreError> = store
                .query(redis::cmd("HEXISTS").arg(store.keys().webhooks()).arg(&hook.id))
                .await;
            if matches!(exists, Ok(false)) {
                return Err(DeliveryError::Deleted);
            }
        }
        post(config, hook, alert).await
    })
    .retry(backoff)
    .sleep(tokio::time::sleep)
    .when(|e| !matches!(e, DeliveryError::Deleted))
    .await
}

/// One signed POST to a checked, pinned address; any 2xx is success, anything else
/// (a redirect included: it is never followed) a failure.
pub async fn post(config: &WebhookConfig, hook: &Stored, alert: &Alert) -> Result<(), DeliveryError> {
    let url = url::Url::parse(&hook.url)?;
    let addr = guard::resolve(config, &url).await?;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .resolve(&host, addr)
        .build()
        .map_err(DeliveryError::Http)?;
    let body = serde_json::to_vec(alert).expect("alerts serialize");
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .header(SIGNATURE, sign(hook.secret.expose_secret(), &body))
        .header("X-Stockwatch-Delivery", &alert.id)
        .body(body)
        .send()
        .await
        .map_err(|e| DeliveryError::Http(e.without_url()))?;
    match response.status() {
        s if s.is_success() => Ok(()),
        s => Err(DeliveryError::Status(s)),
    }
}

/// Every dead letter, oldest first.
pub async fn dead_letters(store: &Store) -> Result<Vec<DeadLetter>, Error> {
    let all: std::collections::HashMap<String, String> = store
        .query(redis::cmd("HGETALL").arg(store.keys().webhooks_dead()))
        .await?;
    let mut dead: Vec<DeadLetter> = all.values().filter_map(|j| serde_json::from_str(j).ok()).collect();
    dead.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    Ok(dead)
}

/// How many dead letters are kept (one HLEN, not the letters themselves).
pub async fn dead_letter_count(store: &Store) -> Result<usize, Error> {
    Ok(store
        .query(redis::cmd("HLEN").arg(store.keys().webhooks_dead()))
        .await?)
}

/// Longest a replay runs, whatever the webhooks' timeout: inside the server's shutdown
/// grace period, so a stop never waits on a replay.
pub const REPLAY_DEADLINE: Duration = Duration::from_secs(8);

/// What one replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Dead letters delivered this time (and so removed).
    pub delivered: usize,
    /// Dead letters tried that failed again (kept, updated).
    pub failed: usize,
    /// Dead letters not tried before the deadline (kept as they were).
    pub untried: usize,
}

/// Tries dead letters again, one POST each, several at once, within [`REPLAY_DEADLINE`]
/// (or the webhook timeout and a second, if shorter): all of them, or the one named
/// (`unknown_dead_letter` when there is none). Each that goes through is removed; each that
/// fails is kept, updated; those the deadline left untried are kept as they were.
pub async fn replay(store: &Store, config: &WebhookConfig, only: Option<&str>) -> Result<ReplayReport, Error> {
    use futures_util::StreamExt;
    let hooks = load(store).await?;
    let letters: Vec<DeadLetter> = dead_letters(store)
        .await?
        .into_iter()
        .filter(|d| only.is_none_or(|id| id == d.id))
        .collect();
    if only.is_some() && letters.is_empty() {
        return Err(Error::UnknownDeadLetter);
    }
    let deadline = tokio::time::Instant::now() + (config.timeout + Duration::from_secs(1)).min(REPLAY_DEADLINE);
    let total = letters.len();
    let (delivered, failed) = (
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::atomic::AtomicUsize::new(0),
    );
    let tries = futures_util::stream::iter(letters)
        .map(|dead| {
            let (hooks, delivered, failed) = (&hooks, &delivered, &failed);
            async move {
                let Some(hook) = hooks.iter().find(|h| h.id == dead.webhook_id) else {
                    return; // deleting a webhook removes its letters; this one raced it
                };
                let outcome = post(config, hook, &dead.alert).await;
                let kept = match outcome {
                    Ok(()) => {
                        delivered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        store
                            .query::<i64>(redis::cmd("HDEL").arg(store.keys().webhooks_dead()).arg(&dead.id))
                            .await
                            .map(drop)
                    }
                    Err(error) => {
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let again = DeadLetter {
                            attempts: dead.attempts + 1,
                            error: error.to_string(),
                            at: crate::ops::now_ms(),
                            ..dead
                        };
                        let json = serde_json::to_string(&again).expect("dead letters serialize");
                        store
                            .query::<()>(
                                redis::cmd("HSET")
                                    .arg(store.keys().webhooks_dead())
                                    .arg(&again.id)
                                    .arg(json),
                            )
                            .await
                    }
                };
                if let Err(e) = kept {
                    tracing::warn!(error = %e, "webhooks: a replayed dead letter could not be updated");
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<()>();
    let _ = tokio::time::timeout_at(deadline, tries).await;
    let (delivered, failed) = (delivered.into_inner(), failed.into_inner());
    Ok(ReplayReport {
        delivered,
        failed,
        untried: total - delivered - failed,
    })
}

/// Removes one dead letter (`false`: there was none).
pub async fn delete_dead_letter(store: &Store, id: &str) -> Result<bool, Error> {
    let removed: i64 = store
        .query(redis::cmd("HDEL").arg(store.keys().webhooks_dead()).arg(id))
        .await?;
    Ok(removed == 1)
}

/// Removes every dead letter of one webhook (it was deleted: they can never be delivered).
pub(super) async fn bury_letters_of(store: &Store, webhook_id: &str) -> Result<(), Error> {
    let ids: Vec<String> = dead_letters(store)
        .await?
        .into_iter()
        .filter(|d| d.webhook_id == webhook_id)
        .map(|d| d.id)
        .collect();
    if !ids.is_empty() {
        let _: i64 = store
            .query(redis::cmd("HDEL").arg(store.keys().webhooks_dead()).arg(&ids))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sign;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
