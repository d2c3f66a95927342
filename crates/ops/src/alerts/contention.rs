//! The `contention` alert: raised when a SKU's share of conflicting transaction attempts
//! passes a level over a window ([`ContentionAlert`]), once per crossing per
//! process, and again only after a window below it. It is about this process's traffic,
//! so it is decided here, not in Redis, and written to the SKU's alert stream afterwards.

use crate::Inventory;
use crate::convert;
use crate::domain::{AlertKind, Sku};
use crate::outcome::Effort;
use foldhash::HashMap;
use std::sync::Mutex;
use stockwatch_core::retry::ContentionAlert;
use tokio::time::Instant;

/// Attempts and conflicts per SKU in the current window.
#[derive(Debug, Default)]
pub struct ContentionWatch {
    skus: Mutex<Windows>,
}

/// The windows, and when they were last swept of ended ones.
#[derive(Debug, Default)]
struct Windows {
    skus: HashMap<Sku, Window>,
    swept: Option<Instant>,
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
    pub fn observe<'s>(&self, store: &Inventory, skus: impl IntoIterator<Item = &'s Sku>, effort: Effort) {
        let level = store.config().contention_alert;
        let mut skus = skus.into_iter().peekable();
        if level.rate <= 0.0 || skus.peek().is_none() {
            return;
        }
        let crossed = self
            .skus
            .lock()
            .expect("not poisoned")
            .count(Instant::now(), level, skus, effort);
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

impl Windows {
    /// Counts `effort` against each of `skus` at `now`; the SKUs whose window just crossed
    /// the level.
    fn count<'s>(
        &mut self,
        now: Instant,
        level: ContentionAlert,
        skus: impl IntoIterator<Item = &'s Sku>,
        effort: Effort,
    ) -> Vec<Sku> {
        // Once a window, forget the SKUs whose window ended and would re-arm, so a process
        // holds the SKUs it touched lately, not every SKU of a catalog it ever touched.
        if self.swept.is_none_or(|at| now.duration_since(at) >= level.window) {
            self.skus
                .retain(|_, w| now.duration_since(w.started) < level.window || (w.raised && !w.quiet(level)));
            self.swept = Some(now);
        }
        let mut crossed = Vec::new();
        for sku in skus {
            let fresh = || Window {
                started: now,
                attempts: 0,
                conflicts: 0,
                raised: false,
            };
            let w = match self.skus.get_mut(sku) {
                Some(w) => w,
                None => self.skus.entry(sku.clone()).or_insert_with(fresh),
            };
            if now.duration_since(w.started) >= level.window {
                // A full window below the level re-arms the alert.
                w.raised &= !w.quiet(level);
                (w.started, w.attempts, w.conflicts) = (now, 0, 0);
            }
            w.attempts += u64::from(effort.attempts);
            w.conflicts += u64::from(effort.conflicts);
            if !w.quiet(level) && !w.raised {
                w.raised = true;
                crossed.push(sku.clone());
            }
        }
        crossed
    }
}

impl Window {
    /// Below the level over this window (or too few attempts to tell).
    fn quiet(&self, level: ContentionAlert) -> bool {
        self.attempts < u64::from(level.min_attempts) || (self.conflicts as f64) < level.rate * self.attempts as f64
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LEVEL: ContentionAlert = ContentionAlert {
        rate: 0.5,
        window: Duration::from_secs(10),
        min_attempts: 4,
    };

    fn effort(attempts: u32, conflicts: u32) -> Effort {
        Effort { attempts, conflicts }
    }

    #[test]
    fn a_window_later_only_the_skus_touched_since_or_still_over_are_kept() {
        let (mut windows, t0) = (Windows::default(), Instant::now());
        let many: Vec<Sku> = (0..1000).map(|i| Sku::parse(&format!("s-{i}")).unwrap()).collect();
        assert!(windows.count(t0, LEVEL, &many, effort(1, 0)).is_empty());
        let hot = [Sku::parse("hot").unwrap()];
        assert_eq!(windows.count(t0, LEVEL, &hot, effort(4, 3)), hot, "crossed once");
        assert!(windows.count(t0, LEVEL, &hot, effort(4, 3)).is_empty(), "not twice");
        assert_eq!(windows.skus.len(), 1001);
        // A window on: the quiet SKUs go; the one still over stays raised.
        let later = t0 + LEVEL.window;
        let other = [Sku::parse("other").unwrap()];
        assert!(windows.count(later, LEVEL, &other, effort(1, 0)).is_empty());
        assert_eq!(windows.skus.len(), 2, "hot and other");
        assert!(
            windows.count(later, LEVEL, &hot, effort(4, 3)).is_empty(),
            "still the same crossing"
        );
        // A quiet window re-arms it.
        let quiet = later + LEVEL.window;
        assert!(windows.count(quiet, LEVEL, &hot, effort(4, 0)).is_empty());
        assert_eq!(windows.count(quiet + LEVEL.window, LEVEL, &hot, effort(4, 3)), hot);
    }
}
