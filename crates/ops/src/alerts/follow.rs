//! Following the alert streams, for this process's event feed (`event: alert` on
//! `GET /v1/events`). Alerts are written in the transactions that raise them, on any
//! process; each process follows the streams itself, so its subscribers see them all.

use super::Alert;
use super::list::{alert_slots, read_since};
use crate::Inventory;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often the streams are read while anyone subscribes.
const POLL: Duration = Duration::from_millis(200);
/// How often the SKUs with rules (so the slots to follow) are listed again.
const RELIST: Duration = Duration::from_secs(2);

/// This process's alert feed: a broadcast, fed by one task while it has subscribers.
#[derive(Debug, Default)]
pub struct Follower {
    feed: Mutex<Option<broadcast::WeakSender<Alert>>>,
}

impl Follower {
    /// A subscription to alerts raised from now on. Starts the follower when none runs;
    /// it stops once its last subscriber is gone.
    pub fn subscribe(&self, store: &Inventory) -> broadcast::Receiver<Alert> {
        let mut feed = self.feed.lock().expect("not poisoned");
        if let Some(tx) = feed.as_ref().and_then(broadcast::WeakSender::upgrade) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(1024);
        *feed = Some(tx.downgrade());
        // From the instant of subscribing, not of the task's first read: an alert raised
        // in between is news too. (Stream ids count Redis's milliseconds; the two clocks
        // are the same machine's, or close.)
        let since = format!("{}-0", crate::now_ms().saturating_sub(1));
        tokio::spawn(follow(store.clone(), tx, since));
        rx
    }
}

async fn follow(store: Inventory, tx: broadcast::Sender<Alert>, since: String) {
    // Where each stream was read up to; a slot not read yet starts at `since`.
    let mut after: HashMap<u16, String> = HashMap::new();
    let mut listed = tokio::time::Instant::now() - RELIST;
    let mut slots: Vec<u16> = Vec::new();
    while tx.receiver_count() > 0 {
        if listed.elapsed() >= RELIST {
            if let Ok(now) = alert_slots(&store, None).await {
                slots = now;
            }
            listed = tokio::time::Instant::now();
        }
        for &slot in &slots {
            let from = after.get(&slot).unwrap_or(&since).clone();
            match read_since(&store, slot, &from, 500).await {
                Ok(page) => {
                    for (id, alert) in page {
                        after.insert(slot, id);
                        let _ = tx.send(alert);
                    }
                }
                Err(e) => tracing::debug!(error = %e, "alert feed: read failed; retrying"),
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
