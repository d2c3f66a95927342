//! Small writes that many commits make, gathered and sent as one: what commits report
//! while one send is being prepared joins it, group commit's idea for hints. The ledger's
//! hints (a moment late is fine: nobody waits) and the expiry schedule (each hold waits
//! for the send that carries it, as it waited for its own write before) use it. Each is a
//! hint whose loss costs only time, since a full pass (the projectors', the expiry
//! workers') finds what it missed.

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

/// The reports of one kind not sent yet, and how far sending got.
#[derive(Debug)]
pub(crate) struct Gather<G> {
    state: Mutex<State<G>>,
    /// The last generation sent.
    sent: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug)]
struct State<G> {
    /// What the reports since the last send added up to.
    pending: Option<G>,
    /// The generation `pending` will be sent as.
    generation: u64,
    /// Whether a sender task runs; it sends until nothing is pending.
    sending: bool,
}

impl<G> Default for Gather<G> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                pending: None,
                generation: 1,
                sending: false,
            }),
            sent: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl<G: Gathered> Gather<G> {
    /// Adds a report (`add` updates what is pending), starting a sender unless one runs.
    /// The future resolves once the send that carries this report is done (failed sends
    /// included); dropping it does not withdraw the report.
    pub(crate) fn report<F: FnOnce(&mut G)>(&self, store: &Store, add: F) -> impl Future<Output = ()> + use<G, F> {
        let (generation, start) = {
            let mut state = self.lock();
            add(state.pending.get_or_insert_with(G::default));
            let start = !std::mem::replace(&mut state.sending, true);
            (state.generation, start)
        };
        if start {
            // A task, not the caller: a caller that goes away must not strand the others.
            tokio::spawn(Self::send_all(store.clone()));
        }
        let mut sent = self.sent.subscribe();
        async move {
            let _ = sent.wait_for(|&done| done >= generation).await;
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
            let (pending, generation) = {
                let mut state = running.gather.lock();
                let pending = state.pending.take();
                state.sending = pending.is_some();
                state.generation += u64::from(pending.is_some());
                (pending, state.generation - 1)
            };
            let Some(pending) = pending else {
                running.done = true;
                return;
            };
            pending.send(store.clone()).await;
            running.gather.sent.send_replace(generation);
        }
    }
}

impl<G> Gather<G> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<G>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running sender. Should it stop before it is done (its runtime shut down under it),
/// it releases everyone waiting and lets the next report start a new one: what it had not
/// sent is then unsent, which costs only time (see the module docs).
struct Running<'a, G> {
    gather: &'a Gather<G>,
    done: bool,
}

impl<G> Drop for Running<'_, G> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let generation = {
            let mut state = self.gather.lock();
            state.sending = false;
            state.generation
        };
        self.gather.sent.send_replace(generation);
    }
}
