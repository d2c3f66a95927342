//! How an engine run becomes its caller's answer (a commit, a replay, a refusal), and how
//! every stock-moving call is reported, whatever its path.

use crate::Inventory;
use crate::domain::{EntryKind, Sku};
use crate::error::Error;
use crate::outcome::{CallOutcome, Effort};
use crate::txn::TxError;

/// Reports one finished stock-moving call: metrics always, and a stock event per SKU when
/// it committed. The one place calls are observed, whatever their path.
pub(crate) fn finished<T>(
    store: &Inventory,
    op: EntryKind,
    strategy: &'static str,
    started: tokio::time::Instant,
    result: &Result<T, Error>,
    effort: Option<Effort>,
    skus: impl FnOnce() -> Vec<Sku>,
) {
    let effort = match result {
        Ok(_) => effort.unwrap_or(Effort::of(1, 0)),
        Err(e) => effort_of(effort, e),
    };
    // Made only if the report reads them, and kept here for the borrow it hands out.
    let mut owned = None;
    report(store, op, strategy, started, CallOutcome::of(result), effort, || {
        owned.insert(skus()).iter()
    });
}

/// A failed call's effort: as measured, else what the error says of it, else one attempt.
pub(crate) fn effort_of(effort: Option<Effort>, error: &Error) -> Effort {
    match (effort, error) {
        (Some(effort), _) => effort,
        (None, Error::Contention { attempts, .. }) => Effort::gave_up_after(*attempts),
        (None, Error::InsufficientStock { attempts, .. }) => Effort::refused_after(*attempts),
        (None, _) => Effort::of(1, 0),
    }
}

/// [`finished`] for a call already classified (a take's receipt says what it was). `skus`
/// are borrowed: a take reports the SKUs of the cart it still holds, and a copy is made only
/// for a feed that someone follows.
pub(crate) fn report<'s, S>(
    store: &Inventory,
    op: EntryKind,
    strategy: &'static str,
    started: tokio::time::Instant,
    outcome: CallOutcome,
    effort: Effort,
    skus: impl FnOnce() -> S,
) where
    S: IntoIterator<Item = &'s Sku>,
    S::IntoIter: Clone,
{
    store
        .metrics()
        .call(op.as_str(), strategy, outcome, effort, started.elapsed());
    let conflicted = effort.conflicts > 0 || matches!(outcome, CallOutcome::GaveUp { .. });
    if outcome == CallOutcome::Committed || conflicted {
        let skus = skus().into_iter();
        store.contention().observe(store, skus.clone(), effort);
        if outcome != CallOutcome::Committed {
            return;
        }
        store.journal_written(skus.clone().map(|s| store.keys().slot_of_sku(s)));
        store.events().changed(|| crate::events::Change {
            skus: skus.cloned().collect(),
            kind: op,
            strategy,
            effort,
            committed_at: crate::now_ms(),
        });
    }
}

/// Why an optimistic step wrote nothing although its caller gets an answer: a repeat of a
/// keyed call (or a step with nothing to do) answered as before, or a refusal. A replay is
/// an answer, not an error, so it is its own case rather than an `Ok` inside an `Err`.
pub(crate) enum Unwritten<T> {
    /// The answer, with nothing to write: the key's first answer, or a no-op.
    Answered(T),
    /// Refused; nothing was written.
    Refused(Error),
}

impl<T> From<Error> for Unwritten<T> {
    fn from(e: Error) -> Self {
        Self::Refused(e)
    }
}

impl<T> From<Unwritten<T>> for Result<T, Error> {
    fn from(unwritten: Unwritten<T>) -> Self {
        match unwritten {
            Unwritten::Answered(answer) => Ok(answer),
            Unwritten::Refused(e) => Err(e),
        }
    }
}

/// An engine run as its caller's answer.
pub(crate) struct Answered<T> {
    /// The output, or the answer a rejection carries.
    pub result: Result<T, Error>,
    /// The effort, when the engine counted it.
    pub effort: Option<Effort>,
    /// Whether anything committed.
    pub committed: bool,
}

/// Turns an engine run into its caller's answer; `rejected` says what a rejection answers.
pub(crate) fn answer<T, R>(
    run: Result<crate::txn::Committed<T>, TxError<R>>,
    rejected: impl FnOnce(R) -> Result<T, Error>,
) -> Answered<T> {
    let (result, effort, committed) = match run {
        Ok(done) => (Ok(done.output), Some(Effort::of(done.attempts, done.conflicts)), true),
        Err(TxError::Rejected {
            rejection,
            attempts,
            conflicts,
        }) => (rejected(rejection), Some(Effort::of(attempts, conflicts)), false),
        Err(TxError::Contention { attempts, throttled }) => {
            (Err(Error::Contention { attempts, throttled }), None, false)
        }
        Err(TxError::Store(e)) => (Err(e.into()), None, false),
    };
    Answered {
        result,
        effort,
        committed,
    }
}

/// Runs an admin change of one SKU's stock on the engine, and reports it.
pub(crate) async fn run_admin<O>(store: &Inventory, kind: EntryKind, sku: &Sku, op: &O) -> Result<O::Output, Error>
where
    O: crate::txn::Optimistic<Rejection = Error>,
{
    let started = tokio::time::Instant::now();
    store.list_journal_slot(store.keys().slot_of_sku(sku)).await?;
    let Answered { result, effort, .. } = answer(crate::txn::run(store, op).await, Err);
    finished(store, kind, "watch", started, &result, effort, || vec![sku.clone()]);
    result
}
