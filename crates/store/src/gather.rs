//! Small writes that many commits make, gathered and sent as one: what commits report
//! while one send is being prepared joins it, group commit's idea for hints. The ledger's
//! hints and the expiry schedule use it. Each is a hint whose loss costs only time, since a
//! full pass (the projectors', the expiry workers') finds what it missed; so nobody waits
//! for a send: the commit is what the caller's answer stands on, and a reply held back for
//! a hint would promise nothing more (a process that dies after the commit and before the
//! hint leaves the same gap either way) while costing each caller a second wake-up.

use super::Store;
use std::sync::Mutex;

/// What is gathered between two sends, and how it is sent.
pub(crate) trait Gathered: Default + Send + 'static {
    /// How long a send waits for more reports after the first (zero: it only lets the
    /// tasks already woken, a batch's buyers, report first).
    const GATHER: std::time::Duration;

    /// The gatherer of this kind in `store`.
    fn of(store: &Store) -> &Gather<Self>;

    /// Sends what was gathered; logs its own failures.
    fn send(self, store: Store) -> impl Future<Output = ()> + Send;
}

/// The reports of one kind not sent yet, and whether a sender runs.
#[derive(Debug)]
pub(crate) struct Gather<G>(Mutex<State<G>>);

#[derive(Debug)]
struct State<G> {
    /// What the reports since the last send added up to.
    pending: Option<G>,
    /// Whether a sender task runs; it sends until nothing is pending.
    sending: bool,
}

impl<G> Default for Gather<G> {
    fn default() -> Self {
        Self(Mutex::new(State {
            pending: None,
            sending: false,
        }))
    }
}

impl<G: Gathered> Gather<G> {
    /// Adds a report (`add` updates what is pending), starting a sender unless one runs.
    /// Returns at once: the send happens in the background.
    pub(crate) fn report<F: FnOnce(&mut G)>(&self, store: &Store, add: F) {
        let start = {
            let mut state = self.lock();
            add(state.pending.get_or_insert_with(G::default));
            !std::mem::replace(&mut state.sending, true)
        };
        if start {
            // A task, not the caller: the caller answers without waiting for the send.
            tokio::spawn(Self::send_all(store.clone()));
        }
    }

    /// Sends what is pending, again and again, until a round finds nothing new.
    async fn send_all(store: Store) {
        let mut running = Running {
            gather: G::of(&store),
            done: false,
        };
        loop {
            match G::GATHER.is_zero() {
                true => tokio::task::yield_now().await,
                false => tokio::time::sleep(G::GATHER).await,
            }
            let pending = {
                let mut state = running.gather.lock();
                let pending = state.pending.take();
                state.sending = pending.is_some();
                pending
            };
            let Some(pending) = pending else {
                running.done = true;
                return;
            };
            pending.send(store.clone()).await;
        }
    }
}

impl<G> Gather<G> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<G>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running sender. Should it stop before it is done (its runtime shut down under it),
/// it lets the next report start a new one: what it had not sent is then unsent, which
/// costs only time (see the module docs).
struct Running<'a, G> {
    gather: &'a Gather<G>,
    done: bool,
}

impl<G> Drop for Running<'_, G> {
    fn drop(&mut self) {
        if !self.done {
            self.gather.lock().sending = false;
        }
    }
}
