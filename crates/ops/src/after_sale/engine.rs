//! The one transaction behind a cancellation and a return: watch the order, read it and the
//! stock of its lines in its slot, let the step decide what comes back, write it all.

use super::{OrderReturn, ReturnLine, at_home, remote, writes};
use crate::Inventory;
use crate::domain::{EntryKind, OrderId, ReturnId, Sku, UserId};
use crate::error::{Error, StoreError};
use crate::idempotency::{Idempotency, StoredAnswer};
use crate::level::Level;
use crate::txn::{self, Optimistic, Plan};
use crate::{Order, Unwritten, now_ms};
use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// One change after the sale: the decision only; [`run`] supplies the rest.
pub(super) trait Step: Sync {
    /// What the change answers. Stored as JSON for idempotent repeats, so it must round-trip.
    type Output: Serialize + DeserializeOwned;

    /// The movement kind of the units that come back.
    const KIND: EntryKind;

    /// The lines this step returns of `order` as read, or a refusal. `levels`: the stock of
    /// the order's SKUs (those of its slot as this transaction reads them).
    fn plan(&self, order: &Order, levels: &HashMap<Sku, Level>) -> Result<Vec<ReturnLine>, Error>;

    /// The answer, from the order as the change leaves it (answer form) and the return.
    fn output(order: Order, ret: OrderReturn) -> Self::Output;
}

/// Runs `step` on order `id`: one optimistic transaction in the order's slot, then, for an
/// order with lines in other slots, their shares (`super::remote`).
pub(super) async fn run<S: Step>(
    store: &Inventory,
    id: &OrderId,
    idem: Option<&Idempotency>,
    step: S,
) -> Result<S::Output, Error> {
    let started = tokio::time::Instant::now();
    // The order's lines never change, so the SKUs to watch can be learnt before the WATCH.
    let order = crate::get_order::stored_order(store, id).await?;
    let home: Vec<Sku> = order
        .items
        .iter()
        .map(|l| l.sku.clone())
        .filter(|s| at_home(store, id, s))
        .collect();
    let remote = home.len() < order.items.len();
    store.list_journal_slot(id.slot()).await?;
    if remote {
        store.index_expiry_slot(id.slot()).await?;
    }
    let op = Change {
        store,
        id: *id,
        key: store.keys().order(id),
        idem: StoredAnswer::claim_if_keyed(store, &format!("{}:{id}", S::KIND), idem, id.slot()).await?,
        return_id: ReturnId::generate_in(id.slot()),
        home,
        user: order.user_id.clone(),
        remote_levels: remote::read_levels(store, &order, id).await?,
        step,
        made: std::sync::Mutex::default(),
    };
    let crate::Answered {
        result,
        effort,
        committed,
    } = crate::answer(txn::run(store, &op).await, Into::into);
    let made = std::mem::take(&mut *op.made.lock().expect("not poisoned"));
    let moved = match (&made, committed) {
        (Some(ret), true) => ret
            .lines
            .iter()
            .map(|l| l.sku.clone())
            .filter(|s| op.home.contains(s))
            .collect(),
        _ => Vec::new(),
    };
    crate::finished(store, S::KIND, "watch", started, &result, effort, || moved);
    if let (Some(ret), true) = (&made, committed)
        && !ret.pending.is_empty()
    {
        store.hold_added(id.slot(), remote::due_at(ret.at));
        // Best effort now; the expiry worker finishes it otherwise.
        if let Err(e) = remote::settle(store, id, &ret.return_id).await {
            tracing::warn!(error = %e, order_id = %id, "a return's other slots are left to the expiry worker");
        }
    }
    result
}

struct Change<'a, S> {
    store: &'a Inventory,
    id: OrderId,
    key: String,
    idem: Option<StoredAnswer>,
    /// Fixed before the first attempt, so a retry records the same return.
    return_id: ReturnId,
    /// The order's SKUs in its slot, whose stock this transaction watches and moves.
    home: Vec<Sku>,
    user: UserId,
    /// The stock of the order's SKUs in other slots, read before the transaction: enough to
    /// refuse a return to a location they do not have (locations are never removed).
    remote_levels: HashMap<Sku, Level>,
    step: S,
    /// The return the committed attempt made.
    made: std::sync::Mutex<Option<OrderReturn>>,
}

impl<S: Step> Optimistic for Change<'_, S> {
    /// The order, the stored answer if any, then per home SKU its stock and the customer's
    /// count.
    type Snapshot = Vec<Value>;
    type Output = S::Output;
    type Rejection = Unwritten<S::Output>;

    fn watch_keys(&self) -> Vec<String> {
        let mut keys = vec![self.key.clone()];
        keys.extend(self.idem.as_ref().map(|s| s.key.clone()));
        keys.extend(self.home.iter().map(|s| self.store.keys().stock(s)));
        keys
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("GET").arg(&self.key);
        if let Some(slot) = &self.idem {
            slot.read(pipe);
        }
        writes::read(self.store, &self.user, &self.home.iter().collect::<Vec<_>>(), pipe);
    }

    fn decide(&self, snapshot: Vec<Value>, _attempt: u32) -> Result<Plan<S::Output>, Self::Rejection> {
        let corrupt = |e: String| {
            Unwritten::Refused(Error::Store(StoreError::Protocol(
                format!("order {}: {e}", self.id).into(),
            )))
        };
        let mut values = snapshot.into_iter();
        let raw: Option<String> =
            redis::from_redis_value(values.next().unwrap_or(Value::Nil)).map_err(|e| corrupt(e.to_string()))?;
        if let Some(slot) = &self.idem
            && let Some(answer) = slot.replay(values.next().unwrap_or(Value::Nil))?
        {
            return Err(Unwritten::Answered(answer));
        }
        let order: Order = serde_json::from_str(&raw.ok_or(Unwritten::Refused(Error::UnknownOrder))?)
            .map_err(|e| corrupt(e.to_string()))?;
        let reads = writes::parsed(&self.home.iter().collect::<Vec<_>>(), &mut values)?;
        let mut levels = self.remote_levels.clone();
        levels.extend(reads.iter().map(|(s, r)| (s.clone(), r.level.clone())));
        let at = now_ms();
        let lines = self.step.plan(&order, &levels)?;
        let (home, away): (Vec<ReturnLine>, Vec<ReturnLine>) =
            lines.iter().cloned().partition(|l| self.home.contains(&l.sku));
        let mut pending: Vec<u16> = away.iter().map(|l| self.store.keys().slot_of_sku(&l.sku)).collect();
        pending.sort_unstable();
        pending.dedup();
        let ret = OrderReturn {
            return_id: self.return_id,
            cancel: S::KIND == EntryKind::CancelOrder,
            at,
            lines,
            pending,
        };
        let mut plan = writes::slot_writes(self.store, &self.id, &order.user_id, S::KIND, &home, &reads, at)?;
        plan.extend(writes::journal(
            self.store,
            self.id.slot(),
            &self.id,
            S::KIND,
            &home,
            Some(&ret),
            at,
        ));
        if !ret.pending.is_empty() {
            plan.push(remote::index_cmd(self.store, &self.id, &ret));
        }
        let mut after = order;
        after.returns.push(ret.clone());
        let json = serde_json::to_string(&after).expect("orders serialize");
        plan.push(redis::cmd("SET").arg(&self.key).arg(json).arg("KEEPTTL").to_owned());
        let output = S::output(after.with_allocations(), ret.clone());
        if let Some(slot) = &self.idem {
            plan.extend(slot.remember_json(&output));
        }
        *self.made.lock().expect("not poisoned") = Some(ret);
        Ok(Plan { writes: plan, output })
    }
}
