//! Writes that can wait a moment, sent in the background: what many commits report is
//! gathered for a few milliseconds and sent as one write. The ledger's hints and the
//! expiry schedule use it; each is a hint whose loss costs only time, since a full pass
//! (the projectors', the expiry workers') finds what it missed.

use super::Store;
use std::sync::{Arc, Mutex, OnceLock};

/// What is gathered between two sends, and how it is sent.
pub(crate) trait Gathered: Default + Send + 'static {
    /// How long the sender gathers after the first report before it sends.
    const GATHER: std::time::Duration;

    /// Sends what was gathered (never empty); logs its own failures.
    fn send(self, store: Store) -> impl Future<Output = ()> + Send;
}

/// The pending reports of one kind, and the sender's wake-up. The sender is a task started
/// on the first report; it holds the store weakly, so dropping the store ends it.
#[derive(Debug, Default)]
pub(crate) struct Gather<G> {
    pending: Arc<Mutex<Option<G>>>,
    wake: Arc<tokio::sync::Notify>,
    started: OnceLock<()>,
}

impl<G: Gathered> Gather<G> {
    /// Adds a report (`add` updates what is pending) and wakes the sender. Costs a lock and,
    /// when the sender already waits out its gathering, nothing more.
    pub(crate) fn report(&self, store: &Store, add: impl FnOnce(&mut G)) {
        add(self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with(G::default));
        self.started.get_or_init(|| {
            let (inner, config) = (Arc::downgrade(&store.inner), store.config.clone());
            let redis = Arc::downgrade(&store.redis);
            let (wake, pending) = (self.wake.clone(), self.pending.clone());
            tokio::spawn(async move {
                loop {
                    wake.notified().await;
                    tokio::time::sleep(G::GATHER).await;
                    let gathered = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
                    let (Some(inner), Some(redis)) = (inner.upgrade(), redis.upgrade()) else {
                        return;
                    };
                    if let Some(gathered) = gathered {
                        gathered
                            .send(Store {
                                inner,
                                config: config.clone(),
                                redis,
                            })
                            .await;
                    }
                }
            });
        });
        self.wake.notify_one();
    }
}
