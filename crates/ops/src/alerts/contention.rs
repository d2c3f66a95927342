//! The `contention` alert: raised when a SKU's share of conflicting transaction attempts
//! passes a level over a window ([`crate::retry::ContentionAlert`]), once per crossing per
//! process, and again only after a window below it. It is about this process's traffic,
//! so it is decided here, not in Redis, and written to the SKU's alert stream afterwards.

use crate::Inventory;
use crate::convert;
use crate::domain::{AlertKind, Sku};
use crate::outcome::Effort;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::time::Instant;

/// Attempts and conflicts per SKU in the current window.
#[derive(Debug, Default)]
pub struct ContentionWatch {
    skus: Mutex<HashMap<Sku, Window>>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    attempts: u64,
    conflicts: u64,
    /// Raised and not yet back below: no second alert for the same crossing.
    raised: bool,
}

impl ContentionWatch {
    /// Counts one call's effort against each of its SKUs; raises the alert for any SKU
    /// whose window just crossed the level.
    pub fn observe(&self, store: &Inventory, skus: &[Sku], effort: Effort) {
        let level = store.config().contention_alert;
        if level.rate <= 0.0 || skus.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut crossed = Vec::new();
        {
            let mut windows = self.skus.lock().expect("not poisoned");
            for sku in skus {
                let w = windows.entry(sku.clone()).or_insert(Window {
                    started: now,
                    attempts: 0,
                    conflicts: 0,
                    raised: false,
                });
                if now.duration_since(w.started) >= level.window {
                    // A full window below the level re-arms the alert.
                    let quiet = w.attempts < u64::from(level.min_attempts)
                        || (w.conflicts as f64) < level.rate * w.attempts as f64;
                    w.raised &= !quiet;
                    (w.started, w.attempts, w.conflicts) = (now, 0, 0);
                }
                w.attempts += u64::from(effort.attempts);
                w.conflicts += u64::from(effort.conflicts);
                let over = w.attempts >= u64::from(level.min_attempts)
                    && (w.conflicts as f64) >= level.rate * w.attempts as f64;
                if over && !w.raised {
                    w.raised = true;
                    crossed.push(sku.clone());
                }
            }
        }
        let percent = convert::i64_from_f64((level.rate * 100.0).round());
        for sku in crossed {
            let store = store.clone();
            tokio::spawn(async move {
                if let Err(e) = raise(&store, &sku, percent).await {
                    tracing::warn!(error = %e, sku = %sku, "could not record a contention alert");
                }
            });
        }
    }
}

/// Writes the alert to the SKU's slot stream (listing the SKU first, so followers read it).
async fn raise(store: &Inventory, sku: &Sku, percent: i64) -> Result<(), crate::error::StoreError> {
    let keys = store.keys();
    super::list_alerting(store, &[sku]).await?;
    let available: Option<i64> = store
        .query(redis::cmd("HGET").arg(keys.stock(sku)).arg("available"))
        .await?;
    let slot = store.feed_slot(keys.slot_of_sku(sku));
    let _: String = store
        .query(
            redis::cmd("XADD")
                .arg(keys.alerts(slot))
                .arg("MAXLEN")
                .arg("~")
                .arg(store.config().movements_maxlen)
                .arg("*")
                .arg("type")
                .arg(AlertKind::Contention.as_str())
                .arg("sku")
                .arg(sku.as_str())
                .arg("available")
                .arg(available.unwrap_or(0))
                .arg("threshold")
                .arg(percent)
                .arg("at")
                .arg(crate::now_ms()),
        )
        .await?;
    tracing::info!(sku = %sku, percent, "contention alert raised");
    Ok(())
}
