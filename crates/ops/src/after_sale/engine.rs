//! The one transaction behind a cancellation and a return: watch the order, read it and the
//! stock of its lines in its slot, let the step decide what comes back, write it all.

use super::writes::{SlotRead, slot_writes};
use super::{OrderReturn, at_home, remote};
use crate::Inventory;
use crate::domain::{EntryKind, OrderId, ReturnId, Sku, UserId};
use crate::error::{Error, StoreError};
use crate::idempotency::{Idempotency, Prior, StoredAnswer, field};
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

    /// The return this step makes of `order` as read (its `pending` left empty), or a
    /// refusal. `levels`: the stock of the order's SKUs that this transaction reads.
    fn plan(
        &self,
        order: &Order,
        id: ReturnId,
        levels: &HashMap<Sku, Level>,
        now_ms: i64,
    ) -> Result<OrderReturn, Error>;

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
        store.hold_added(id.slot(), remote::due_at(ret.at)).await;
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
        let [units, _] = crate::sale::count_fields(&self.user);
        for sku in &self.home {
            crate::read_stock(self.store, sku, pipe);
            pipe.cmd("HGET").arg(self.store.keys().customers(sku)).arg(&units);
        }
    }

    fn decide(&self, snapshot: Vec<Value>, _attempt: u32) -> Result<Plan<S::Output>, Self::Rejection> {
        let protocol = |e: String| Unwritten::Refused(Error::Store(StoreError::Protocol(e.into())));
        let mut values = snapshot.into_iter();
        let raw: Option<String> = values
            .next()
            .map(redis::from_redis_value)
            .transpose()
            .map_err(|e| protocol(format!("order {}: {e}", self.id)))?
            .flatten();
        if let Some(slot) = &self.idem
            && let Prior::Replay(fields) = slot.recall(values.next().unwrap_or(Value::Nil))?
        {
            let body = field(&fields, "body").map_err(|e| Unwritten::Refused(e.into()))?;
            return Err(match serde_json::from_str(body) {
                Ok(answer) => Unwritten::Answered(answer),
                Err(e) => protocol(format!("stored answer: {e}")),
            });
        }
        let order: Order = serde_json::from_str(&raw.ok_or(Unwritten::Refused(Error::UnknownOrder))?)
            .map_err(|e| protocol(format!("order {}: {e}", self.id)))?;
        let mut reads = HashMap::new();
        for sku in &self.home {
            let fields: HashMap<String, String> = values
                .next()
                .map(redis::from_redis_value)
                .transpose()
                .map_err(|e| protocol(format!("stock of {sku}: {e}")))?
                .unwrap_or_default();
            let counted: Option<i64> = values
                .next()
                .map(redis::from_redis_value)
                .transpose()
                .map_err(|e| protocol(format!("counts of {sku}: {e}")))?
                .flatten();
            if let Some(level) = Level::parse(sku, &fields).map_err(|e| Unwritten::Refused(e.into()))? {
                reads.insert(sku.clone(), SlotRead { level, counted });
            }
        }
        let mut levels = self.remote_levels.clone();
        levels.extend(reads.iter().map(|(s, r)| (s.clone(), r.level.clone())));
        let at = now_ms();
        let mut ret = self.step.plan(&order, self.return_id, &levels, at)?;
        let home: Vec<_> = ret
            .lines
            .iter()
            .filter(|l| self.home.contains(&l.sku))
            .cloned()
            .collect();
        let mut slots: Vec<u16> = ret
            .lines
            .iter()
            .filter(|l| !self.home.contains(&l.sku))
            .map(|l| self.store.keys().slot_of_sku(&l.sku))
            .collect();
        slots.sort_unstable();
        slots.dedup();
        ret.pending = slots;
        let mut writes = slot_writes(self.store, &self.id, &order.user_id, S::KIND, &home, &reads, at)?;
        writes.extend(super::writes::journal(
            self.store,
            &self.id,
            S::KIND,
            &home,
            Some(&ret),
            at,
        ));
        if !ret.pending.is_empty() {
            writes.push(remote::index_cmd(self.store, &self.id, &ret));
        }
        let mut after = order;
        after.returns.push(ret.clone());
        writes.push(
            redis::cmd("SET")
                .arg(&self.key)
                .arg(serde_json::to_string(&after.clone().stored()).expect("orders serialize"))
                .arg("KEEPTTL")
                .to_owned(),
        );
        let output = S::output(after.with_allocations(), ret.clone());
        if let Some(slot) = &self.idem {
            let body = serde_json::to_string(&output).expect("answers serialize");
            writes.extend(slot.remember(&[("body", body)]));
        }
        *self.made.lock().expect("not poisoned") = Some(ret);
        Ok(Plan { writes, output })
    }
}
