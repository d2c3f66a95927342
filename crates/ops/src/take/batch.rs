//! Group commit: the process never races itself (docs/DESIGN.md, section 8, for the
//! research behind it).
//!
//! On one hot key, N optimistic transactions from one process mostly abort each other: about
//! one in N commits per round. And even on cold keys, one transaction per buyer pays a
//! dedicated connection and two round trips each. So concurrent `watch` takes queue behind
//! one leader task, which reads every SKU they touch once, decides them in arrival order
//! against those levels, and commits the accepted ones in one WATCH/MULTI/EXEC. Each buyer
//! still gets its own answer and its own order, and a buyer (a whole cart) is still
//! all-or-nothing. WATCH still guards against every other writer (other processes, admin
//! calls); if one interferes, the batch retries as a whole.
//!
//! On a cluster a transaction cannot span slots, so there is one queue (and one leader) per
//! slot; on one Redis, one queue takes every slot.
//!
//! `lua` takes queue the same way, in queues of their own: a batch is then one script call
//! that decides its takes in arrival order (`crates/ops/src/lua/take.lua`). A script never conflicts,
//! so what it saves is the call itself: one EVALSHA, one round trip and one reply for up to
//! [`MAX_BATCH`] buyers, instead of one each.
//!
//! A `lua` queue keeps up to [`LUA_IN_FLIGHT`] batches in flight, pipelined on the one
//! connection: while Redis runs one, the process answers the one before and gathers the
//! next. With one at a time, the two take turns (a convoy: a closed loop of 50 buyers made
//! batches of exactly 50, and Redis idled while they were answered). Batches still run in
//! arrival order: the leader sends them in order and polls the ones in flight oldest first,
//! every time, so none reaches the connection before an older one; the connection writes
//! requests in the order they reach it, and Redis runs them in the order it reads them.
//! (Only a batch retried after `MOVED`, mid-resharding, can fall behind a later one.)
//!
//! `watch` batches overlap too, but only on different keys: each runs on its own
//! connection, so their order is not guaranteed, and two on one SKU would abort each other.
//! A `watch` batch is the longest run of waiting takes, from the front of the queue, that
//! touches no key of a batch in flight; a take that does waits, and so does everyone behind
//! it, so each SKU still sees its buyers in arrival order. Waiting takes are split over the
//! batches that may be sent only when they mostly touch different SKUs: on one hot SKU the
//! batch takes everyone, as before.

use super::Take;
use super::claims::{Turn, Watched};
use super::receipt::Receipt;
use crate::error::{Error, StoreError};
use foldhash::{HashMap, HashSet, HashSetExt};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::{Notify, oneshot};

/// Most takes one transaction commits; bounds the size of a MULTI.
const MAX_BATCH: usize = 256;

/// Most `watch` batches of one queue in flight at once (on different keys).
const WATCH_IN_FLIGHT: usize = 4;

/// Most `lua` batches of one queue in flight at once: two already overlap Redis and the
/// process; four split a trickle of HTTP buyers into batches of one or two, a script call
/// (a write that wakes Redis, a reply to read) for each (BENCHMARKS.md, "Two `lua` batches
/// in flight").
const LUA_IN_FLIGHT: usize = 2;

type Reply = oneshot::Sender<Result<Receipt, Error>>;
type Results = Vec<Result<Receipt, Error>>;

/// The takes waiting for their next batch, per queue (a slot on a cluster), each with
/// whether a leader is running to take them. A queue is removed when its leader steps down.
#[derive(Default)]
pub(crate) struct Combiner {
    queues: Mutex<HashMap<(Path, u16), Queue>>,
    /// The keys `watch` batches in flight watch, shared with every sibling combiner (the
    /// other lanes of the process), so that no two batches of one process watch one key.
    watched: Arc<Watched>,
    /// This combiner's lane, among its siblings.
    lane: u64,
}

/// How a queue's batches commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Path {
    /// One WATCH/MULTI/EXEC per batch.
    Watch,
    /// One script call per batch.
    Lua,
}

impl Path {
    /// Most batches of one queue of this path in flight at once.
    fn in_flight(self) -> usize {
        match self {
            Self::Watch => WATCH_IN_FLIGHT,
            Self::Lua => LUA_IN_FLIGHT,
        }
    }
}

#[derive(Default)]
struct Queue {
    leading: bool,
    waiting: Vec<(Take, Reply)>,
    /// Wakes the leader when a take arrives while it waits for a batch in flight.
    arrived: Arc<Notify>,
}

/// A batch sent, and its buyers, until they are answered.
struct InFlight {
    run: Pin<Box<dyn Future<Output = Results> + Send>>,
    done: Option<Results>,
    replies: Vec<Reply>,
    /// The keys a `watch` batch watches (none for `lua`), claimed in [`Watched`] until it
    /// is answered, or dropped unanswered: no other batch may touch them.
    keys: Vec<String>,
    watched: Arc<Watched>,
}

impl Drop for InFlight {
    /// Frees the batch's keys, whether it was answered or its leader was dropped mid-flight,
    /// so that no key can stay claimed for good.
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        self.watched.claims.lock().expect("watched lock").release(&self.keys);
        self.watched.freed.notify_waiters();
    }
}

impl InFlight {
    /// Sends `takes`; `keys` are what a `watch` batch watches (empty on `lua`).
    fn send(path: Path, takes: Vec<Take>, replies: Vec<Reply>, keys: Vec<String>, watched: &Arc<Watched>) -> Self {
        let run: Pin<Box<dyn Future<Output = Results> + Send>> = match path {
            Path::Watch => Box::pin(async move { super::watch_batch::commit(&takes).await }),
            Path::Lua => Box::pin(async move { super::lua::run_script(&takes).await }),
        };
        Self {
            run,
            done: None,
            replies,
            keys,
            watched: watched.clone(),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) {
        if self.done.is_none()
            && let Poll::Ready(results) = self.run.as_mut().poll(cx)
        {
            self.done = Some(results);
        }
    }

    /// Answers the batch's buyers; its keys are freed first (on drop), so that a waiting
    /// batch can go while these buyers are told.
    fn answer(mut self) {
        let (replies, done) = (std::mem::take(&mut self.replies), self.done.take());
        drop(self);
        for (reply, result) in replies.into_iter().zip(done.unwrap_or_default()) {
            // A buyer that went away still has its order; nobody is left to tell.
            let _ = reply.send(result);
        }
    }
}

impl Combiner {
    /// A combiner with queues of its own that shares this one's watched keys: another lane
    /// of the same process.
    pub(crate) fn sibling(&self) -> Self {
        Self {
            queues: Mutex::default(),
            watched: self.watched.clone(),
            lane: self.watched.lanes.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
        }
    }

    /// Queues `take` and waits for its batch to finish. Starts a leader when none is running.
    pub(crate) async fn submit(self: &Arc<Self>, path: Path, take: Take) -> Result<Receipt, Error> {
        let (tx, rx) = oneshot::channel();
        let queue = (path, if take.store.is_cluster() { take.slot } else { 0 });
        let lead = {
            let mut queues = self.queues.lock().expect("combiner lock");
            let waiting = queues.entry(queue).or_default();
            waiting.waiting.push((take, tx));
            if std::mem::replace(&mut waiting.leading, true) {
                waiting.arrived.notify_one();
                None
            } else {
                Some(waiting.arrived.clone())
            }
        };
        if let Some(arrived) = lead {
            tokio::spawn(Arc::clone(self).lead(queue, arrived));
        }
        rx.await
            .unwrap_or_else(|_| Err(Error::Store(StoreError::Protocol("group commit leader stopped".into()))))
    }

    /// Commits batches from one queue until it is empty and none is in flight, then steps
    /// down.
    async fn lead(self: Arc<Self>, queue: (Path, u16), arrived: Arc<Notify>) {
        let mut flight: VecDeque<InFlight> = VecDeque::new();
        let watched = self.watched.clone();
        loop {
            // Armed before the queue is looked at, so that keys freed meanwhile still wake us.
            let freed = watched.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            // On `watch`, whether the front of the queue waits for a batch in flight: takes
            // arriving behind it cannot go first, so they need not wake the leader.
            let mut blocked = false;
            let most = queue.0.in_flight();
            while flight.len() < most {
                match self.next_batch(queue, most - flight.len()) {
                    Next::Batch(takes, replies, keys) => {
                        flight.push_back(InFlight::send(queue.0, takes, replies, keys, &watched));
                    }
                    Next::Expired => {}
                    Next::Empty => break,
                    Next::Blocked => {
                        blocked = true;
                        break;
                    }
                    Next::SteppedDown => return,
                }
            }
            let room = flight.len() < most && !blocked;
            let arrival = arrived.notified();
            tokio::pin!(arrival);
            let oldest_done = std::future::poll_fn(|cx| {
                // Oldest first, every time: no batch reaches the connection before an older one.
                for batch in flight.iter_mut() {
                    batch.poll(cx);
                }
                if flight.front().is_some_and(|b| b.done.is_some()) {
                    return Poll::Ready(true);
                }
                if room && arrival.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
                // Blocked on keys a sibling lane's batch watches: look again when any frees.
                if blocked && freed.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
                Poll::Pending
            })
            .await;
            if oldest_done && let Some(batch) = flight.pop_front() {
                batch.answer();
            }
        }
    }

    /// Takes the next batch from the queue: its share of what waits, split evenly over the
    /// `room` batches that may still be sent, so that they overlap instead of one batch
    /// taking everyone; on `watch`, only takes ahead of the first that touches a key a batch
    /// in flight watches (in any lane), and split only when they mostly touch different
    /// SKUs; the batch's keys are claimed in the same step. Steps down instead when the queue
    /// is empty and nothing is in flight.
    fn next_batch(&self, queue: (Path, u16), room: usize) -> Next {
        let idle = room == queue.0.in_flight();
        let watch = queue.0 == Path::Watch;
        // The takes still awaited, the keys they watch (on `watch`, each once), and those
        // whose callers have gone.
        let (live, claimed, expired) = {
            let mut queues = self.queues.lock().expect("combiner lock");
            let Some(waiting) = queues.get_mut(&queue).filter(|q| !q.waiting.is_empty()) else {
                if idle {
                    queues.remove(&queue);
                    return Next::SteppedDown;
                }
                return Next::Empty;
            };
            let waiting = &mut waiting.waiting;
            // On `watch`, held from the check to the claim, so that two lanes cannot claim
            // one key.
            let mut claims = watch.then(|| self.watched.claims.lock().expect("watched lock"));
            let n = match queue.0 {
                Path::Lua => waiting.len().div_ceil(room).min(MAX_BATCH),
                Path::Watch => {
                    // The front run of takes that touch no busy key.
                    let mut free = 0;
                    for (take, _) in waiting.iter().take(MAX_BATCH) {
                        if let Some(claims) = claims.as_mut()
                            && let Turn::Wait { gave_up } = claims.turn(watched(take), self.lane)
                        {
                            if gave_up {
                                self.watched.freed.notify_waiters();
                            }
                            break;
                        }
                        free += 1;
                    }
                    let mut skus: HashSet<&str> = HashSet::with_capacity(free);
                    skus.extend(
                        waiting[..free]
                            .iter()
                            .flat_map(|(t, _)| t.stock_keys().iter().map(String::as_str)),
                    );
                    if skus.len() * 2 >= free {
                        free.div_ceil(room)
                    } else {
                        free
                    }
                }
            };
            if n == 0 {
                return Next::Blocked;
            }
            // A take whose caller has already timed out is answered, not run: committing it
            // now would turn its 503 into a lie. Only the others' keys are claimed.
            let now = tokio::time::Instant::now();
            let (live, expired): (Vec<_>, Vec<_>) = waiting.drain(..n).partition(|(t, _)| t.deadline > now);
            let mut claimed: Vec<String> = Vec::new();
            if let Some(claims) = claims.as_mut() {
                let drained = expired.iter().chain(&live).flat_map(|(t, _)| watched(t));
                let turns_ended;
                (claimed, turns_ended) = claims.claim(drained, live.iter().flat_map(|(t, _)| watched(t)), self.lane);
                if turns_ended {
                    self.watched.freed.notify_waiters();
                }
            }
            (live, claimed, expired)
        };
        for (_, reply) in expired {
            let _ = reply.send(Err(Error::Store(StoreError::Timeout)));
        }
        if live.is_empty() {
            return Next::Expired;
        }
        let (takes, replies) = live.into_iter().unzip();
        Next::Batch(takes, replies, claimed)
    }
}

/// The keys a `watch` batch watches for `take`: its SKUs', then its idempotency key.
fn watched(take: &Take) -> impl Iterator<Item = &String> + Clone {
    take.stock_keys().iter().chain(take.idem.as_ref().map(|a| &a.key))
}

/// What the leader found in its queue.
enum Next {
    /// Takes to send, with their buyers and the keys a `watch` batch watches.
    Batch(Vec<Take>, Vec<Reply>, Vec<String>),
    /// Only takes whose callers had gone; answered.
    Expired,
    /// Nothing, with a batch still in flight.
    Empty,
    /// The front of the queue touches a key a `watch` batch in flight watches.
    Blocked,
    /// Nothing and nothing in flight: the queue is gone.
    SteppedDown,
}
