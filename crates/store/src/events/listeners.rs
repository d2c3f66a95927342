//! Whether anyone follows the feed. A publish that reached no subscriber, on any process,
//! lets the outbox skip the changes of the next [`QUIET_FOR`]: a feed nobody watches costs a
//! purchase nothing but one atomic read, and one publish per [`QUIET_FOR`] still asks
//! whether someone came.
//!
//! Why nothing a subscriber should see is skipped: a change is skipped only within
//! [`QUIET_FOR`] of sending a publish that nobody received, so that publish reached Redis
//! before any subscription confirmed less than [`QUIET_FOR`] before the change. An inbox
//! reports itself live [`SUBSCRIBE_GRACE`] (longer than [`QUIET_FOR`]) after Redis
//! confirmed its subscription, and a resync after a reconnect waits longer still, so every
//! change that commits after [`super::Events::subscribe`] returns is published.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long a publish that reached nobody lets the outbox skip changes.
pub(super) const QUIET_FOR: Duration = Duration::from_millis(100);

/// How long after Redis confirmed its subscription an inbox calls itself live: longer than
/// [`QUIET_FOR`], so no outbox still skips changes on the strength of an earlier publish.
pub(super) const SUBSCRIBE_GRACE: Duration = Duration::from_millis(110);

/// What the outbox's last publish found, shared with every caller that reports a change.
#[derive(Debug)]
pub(super) struct Listeners {
    /// The origin of the stamp below.
    epoch: Instant,
    /// When the last publish was sent if it reached nobody (µs after `epoch`, plus one);
    /// 0 while the last one reached someone, or before the first.
    unheard: AtomicU64,
}

impl Listeners {
    pub(super) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            unheard: AtomicU64::new(0),
        }
    }

    /// Whether a change reported now may go unpublished: the last publish reached no
    /// subscriber and was sent less than [`QUIET_FOR`] ago.
    pub(super) fn nobody(&self) -> bool {
        self.nobody_at(Instant::now())
    }

    fn nobody_at(&self, now: Instant) -> bool {
        match self.unheard.load(Ordering::Relaxed) {
            0 => false,
            stamp => now.saturating_duration_since(self.epoch) < Duration::from_micros(stamp - 1) + QUIET_FOR,
        }
    }

    /// Records what a publish sent at `sent` found. One outbox publishes, one batch at a
    /// time, so the last call is the latest publish.
    pub(super) fn heard(&self, sent: Instant, receivers: i64) {
        let stamp = if receivers > 0 {
            0
        } else {
            u64::try_from(sent.saturating_duration_since(self.epoch).as_micros())
                .unwrap_or(u64::MAX - 1)
                .saturating_add(1)
        };
        self.unheard.store(stamp, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_nobody_heard_quiets_the_feed_for_a_while_only() {
        let listeners = Listeners::new();
        let sent = Instant::now();
        assert!(
            !listeners.nobody_at(sent),
            "nothing is skipped before the first publish"
        );
        listeners.heard(sent, 0);
        assert!(listeners.nobody_at(sent));
        assert!(listeners.nobody_at(sent + QUIET_FOR - Duration::from_millis(1)));
        assert!(
            !listeners.nobody_at(sent + QUIET_FOR),
            "after QUIET_FOR, changes are published again"
        );
        listeners.heard(sent, 2);
        assert!(
            !listeners.nobody_at(sent),
            "a publish that reached someone ends the quiet"
        );
        assert!(SUBSCRIBE_GRACE > QUIET_FOR);
    }
}
