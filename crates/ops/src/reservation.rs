//! The reservation record, and the one engine behind every change to it (confirm, cancel,
//! extend, expire): watch the reservation, read it, let the step decide.
//!
//! Every transition watches the reservation's key, so two transitions racing (a confirm
//! and the expiry worker, two workers, a cancel and an extend) cannot both commit against
//! the same `active` state: one EXEC aborts, re-reads, and sees the other's result. That is
//! what makes "ends in exactly one terminal state, once" hold.

use super::idempotency::{Idempotency, StoredAnswer, field};
use super::{OrderLine, now_ms};
use crate::Inventory;
use crate::Unwritten;
use crate::domain::{EntryKind, OrderId, RecordId, ReservationId, ReservationStatus, Sku, UserId};
use crate::error::{Error, StoreError};
use crate::purchase_order::PurchaseOrder;
use crate::txn::{self, Optimistic, Plan};
use redis::{Cmd, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A reservation as stored and as `GET /v1/reservations/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Reservation {
    /// UUIDv7.
    pub reservation_id: ReservationId,
    /// Where it is in its life.
    pub status: ReservationStatus,
    /// What it holds.
    pub items: Vec<OrderLine>,
    /// Who holds it.
    #[schema(value_type = String)]
    pub user_id: UserId,
    /// When the hold lapses, epoch ms.
    pub expires_at: i64,
    /// When it was made, epoch ms.
    pub created_at: i64,
    /// The order a confirm created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub order_id: Option<OrderId>,
    /// A cross-slot reservation holds nothing itself: these holds, one per slot, do. Its
    /// transitions decide; the holds follow (`super::saga`).
    #[serde(skip)]
    pub(crate) parts: Vec<ReservationId>,
    /// When this is one slot's hold of a cross-slot cart: the order or reservation its
    /// saga's decision creates (a checkout's holds are sold at once; a reservation's follow
    /// its transitions). The parent's slot holds the decision.
    #[serde(skip)]
    pub(crate) saga: Option<RecordId>,
    /// The SKUs whose per-customer count this hold took (`crate::sale`): its end gives the
    /// active hold back, and a cancel or expiry the units too.
    #[serde(skip)]
    pub(crate) counted: Vec<Sku>,
    /// The purchase orders its preorder lines wait for, as the transition's WATCH read them
    /// (`Transition::read_more`): its end tells their filled units from those still waiting.
    #[serde(skip)]
    pub(crate) queues: HashMap<Sku, Vec<crate::purchase_order::PurchaseOrder>>,
}

impl Reservation {
    /// Whether it counts against `max_active_holds_per_customer`. A cross-slot checkout's
    /// part is a hold only for the instant of its saga, sold when the saga commits: it is
    /// never counted as one (the take script reads the same from `saga_kind`).
    pub(crate) fn counts_as_hold(&self) -> bool {
        !matches!(self.saga, Some(RecordId::Order(_)))
    }

    /// The hash fields it is stored as.
    pub(crate) fn to_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("status", self.status.as_str().to_owned()),
            ("user_id", self.user_id.to_string()),
            ("items", serde_json::to_string(&self.items).expect("lines serialize")),
            ("expires_at", self.expires_at.to_string()),
            ("created_at", self.created_at.to_string()),
        ];
        fields.extend(self.order_id.map(|o| ("order_id", o.to_string())));
        if !self.parts.is_empty() {
            let parts: Vec<String> = self.parts.iter().map(ToString::to_string).collect();
            fields.push(("parts", parts.join(",")));
        }
        if let Some(parent) = &self.saga {
            let kind = match parent {
                RecordId::Order(_) => "order",
                RecordId::Reservation(_) => "reservation",
            };
            fields.push(("saga", parent.to_string()));
            fields.push(("saga_kind", kind.to_owned()));
        }
        fields
    }

    /// Decodes a stored hash (HGETALL); `None` when the reservation does not exist.
    pub(crate) fn from_fields(
        id: &ReservationId,
        mut fields: HashMap<String, String>,
    ) -> Result<Option<Self>, StoreError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let corrupt = |what: &str| StoreError::Protocol(format!("reservation {id}: bad {what}").into());
        let num = |f: &HashMap<String, String>, name: &str| {
            field(f, name)
                .map_err(|_| corrupt(name))?
                .parse::<i64>()
                .map_err(|_| corrupt(name))
        };
        let parts = match fields.remove("parts") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|p| ReservationId::parse(p).ok_or_else(|| corrupt("parts")))
                .collect::<Result<_, _>>()?,
        };
        let saga = match (fields.remove("saga"), fields.remove("saga_kind").as_deref()) {
            (None, None) => None,
            (Some(parent), Some("order")) => {
                Some(RecordId::Order(OrderId::parse(&parent).ok_or_else(|| corrupt("saga"))?))
            }
            (Some(parent), Some("reservation")) => Some(RecordId::Reservation(
                ReservationId::parse(&parent).ok_or_else(|| corrupt("saga"))?,
            )),
            _ => return Err(corrupt("saga")),
        };
        let counted = match fields.remove("counted") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|s| Sku::parse(s).map_err(|_| corrupt("counted")))
                .collect::<Result<_, _>>()?,
        };
        let order_id = match fields.remove("order_id") {
            None => None,
            Some(raw) => Some(OrderId::parse(&raw).ok_or_else(|| corrupt("order_id"))?),
        };
        let user_id = fields.remove("user_id").ok_or_else(|| corrupt("user_id"))?;
        Ok(Some(Self {
            parts,
            saga,
            counted,
            queues: HashMap::new(),
            reservation_id: *id,
            status: ReservationStatus::parse(field(&fields, "status").map_err(|_| corrupt("status"))?)
                .ok_or_else(|| corrupt("status"))?,
            items: OrderLine::with_allocations(
                serde_json::from_str(field(&fields, "items").map_err(|_| corrupt("items"))?)
                    .map_err(|_| corrupt("items"))?,
            ),
            expires_at: num(&fields, "expires_at")?,
            created_at: num(&fields, "created_at")?,
            user_id: UserId::try_from(user_id).map_err(|_| corrupt("user_id"))?,
            order_id,
        }))
    }

    /// The status clients see: a hold past its deadline is `expired` even before the worker
    /// has swept it, because it can no longer be confirmed, cancelled or extended.
    pub fn effective_status(&self, now_ms: i64) -> ReservationStatus {
        match self.status {
            ReservationStatus::Active if now_ms >= self.expires_at => ReservationStatus::Expired,
            status => status,
        }
    }

    /// This reservation, refused unless it is active and not past its deadline.
    pub(crate) fn require_active(found: Option<Self>, now_ms: i64) -> Result<Self, Error> {
        let resv = found.ok_or(Error::UnknownReservation)?;
        match resv.effective_status(now_ms) {
            ReservationStatus::Active => Ok(resv),
            status => Err(Error::ReservationNotActive { status }),
        }
    }
}

/// One change to one reservation: the decision only; [`run`] supplies the rest.
pub(crate) trait Step: Sync {
    /// What the change answers. Stored as JSON for idempotent repeats, so it must round-trip.
    type Output: Serialize + DeserializeOwned;

    /// Whether a committed answer moved stock (and so is published on `GET /v1/events`).
    fn moved_stock(_output: &Self::Output) -> bool {
        true
    }

    /// Decides from the reservation as read (`None`: it does not exist) and the time.
    /// Empty writes mean "nothing to change": the answer is given without a commit.
    fn decide(
        &self,
        store: &Inventory,
        found: Option<Reservation>,
        now_ms: i64,
    ) -> Result<(Vec<Cmd>, Self::Output), Error>;
}

/// A step's answer, and the parts that must now follow the reservation (those of a
/// cross-slot reservation the step changed; empty otherwise).
pub(crate) struct Ran<T> {
    /// The step's answer.
    pub output: T,
    /// Hand these to `super::saga::follow` once the answer is known.
    pub parts: Vec<ReservationId>,
}

/// Runs `step` on reservation `id` as one optimistic transaction. `scope` names the
/// change, for its stored answer, metrics and events.
pub(crate) async fn run<S: Step>(
    store: &Inventory,
    id: &ReservationId,
    scope: EntryKind,
    idem: Option<&Idempotency>,
    step: S,
) -> Result<Ran<S::Output>, Error> {
    let started = tokio::time::Instant::now();
    store.list_journal_slot(id.slot()).await?;
    let op = Transition {
        store,
        key: store.keys().reservation(id),
        id: *id,
        idem: StoredAnswer::claim_if_keyed(store, &format!("{scope}:{id}"), idem, id.slot()).await?,
        step,
        touched: std::sync::Mutex::default(),
        parts: std::sync::Mutex::default(),
    };
    // Only a commit moved stock; an answer given without one (a replay, a hold already
    // ended) publishes no stock event.
    let super::Answered {
        result,
        effort,
        committed,
    } = super::answer(txn::run(store, &op).await, Into::into);
    let touched = std::mem::take(&mut *op.touched.lock().expect("not poisoned"));
    let touched = if committed && result.as_ref().is_ok_and(S::moved_stock) {
        touched
    } else {
        Vec::new()
    };
    super::finished(store, scope, "watch", started, &result, effort, || touched);
    let parts = std::mem::take(&mut *op.parts.lock().expect("not poisoned"));
    let parts = if committed { parts } else { Vec::new() };
    result.map(|output| Ran { output, parts })
}

/// A stored hold's preorder lines whose stock it holds itself, in its own slot, as (SKU,
/// purchase order); nothing for a hold without (its items are not even decoded then), nor
/// for a cross-slot reservation (its parts hold the stock, each in its slot).
fn preorder_lines(
    store: &Inventory,
    id: &ReservationId,
    fields: &HashMap<String, String>,
) -> Vec<(Sku, crate::domain::PoRef)> {
    let Some(items) = fields.get("items").filter(|i| i.contains("\"purchase_order\"")) else {
        return Vec::new();
    };
    let lines: Vec<OrderLine> = serde_json::from_str(items).unwrap_or_default();
    lines
        .into_iter()
        .filter(|l| store.keys().slot_of_sku(&l.sku) == id.slot())
        .filter_map(|l| {
            let reference = l.allocations.iter().find_map(|a| a.purchase_order.clone())?;
            Some((l.sku, reference))
        })
        .collect()
}

struct Transition<'a, S> {
    store: &'a Inventory,
    key: String,
    id: ReservationId,
    idem: Option<StoredAnswer>,
    step: S,
    /// The SKUs of the reservation as last read, for the stock events after a commit (none
    /// for a cross-slot reservation: its parts move the stock).
    touched: std::sync::Mutex<Vec<Sku>>,
    /// The parts of the reservation as last read.
    parts: std::sync::Mutex<Vec<ReservationId>>,
}

impl<S: Step> Optimistic for Transition<'_, S> {
    /// The reservation hash, then the stored answer if any.
    type Snapshot = Vec<Value>;
    type Output = S::Output;
    /// A final answer with nothing to write (a replay or a no-op), or a refusal.
    type Rejection = Unwritten<S::Output>;

    fn watch_keys(&self) -> Vec<String> {
        let mut keys = vec![self.key.clone()];
        keys.extend(self.idem.as_ref().map(|s| s.key.clone()));
        keys
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("HGETALL").arg(&self.key);
        if let Some(slot) = &self.idem {
            slot.read(pipe);
        }
    }

    /// A hold with preorder lines: each one's purchase order, watched from here on (its
    /// SKU shares the hold's slot), so the end knows which units a receipt filled.
    fn read_more(&self, snapshot: &Vec<Value>, pipe: &mut redis::Pipeline) {
        let Some(Value::Array(_) | Value::Map(_)) = snapshot.first() else {
            return;
        };
        let fields: HashMap<String, String> = snapshot
            .first()
            .and_then(|v| redis::from_redis_value(v.clone()).ok())
            .unwrap_or_default();
        for (sku, reference) in preorder_lines(self.store, &self.id, &fields) {
            let key = self.store.keys().stock(&sku);
            pipe.cmd("WATCH").arg(&key);
            pipe.cmd("HGET").arg(&key).arg(PurchaseOrder::field(&reference));
        }
    }

    fn add_more(&self, snapshot: &mut Vec<Value>, more: Vec<Value>) {
        snapshot.extend(more);
    }

    fn decide(&self, snapshot: Vec<Value>, _attempt: u32) -> Result<Plan<S::Output>, Self::Rejection> {
        let protocol = |e: String| Unwritten::Refused(Error::Store(StoreError::Protocol(e.into())));
        let mut values = snapshot.into_iter();
        let resv = values.next();
        if let Some(slot) = &self.idem
            && let Some(answer) = slot.replay(values.next().unwrap_or(Value::Nil))?
        {
            return Err(Unwritten::Answered(answer));
        }
        let fields: HashMap<String, String> = match resv.map(redis::from_redis_value) {
            Some(Ok(f)) => f,
            _ => return Err(protocol(format!("reservation {} read failed", self.id))),
        };
        let queued = preorder_lines(self.store, &self.id, &fields);
        let mut found = Reservation::from_fields(&self.id, fields).map_err(|e| Unwritten::Refused(e.into()))?;
        if let Some(resv) = found.as_mut() {
            // After each WATCH's `OK`, its purchase order.
            let read: Vec<Value> = values.skip(1).step_by(2).collect();
            for ((sku, reference), text) in queued.into_iter().zip(read) {
                let text: Option<String> = redis::from_redis_value(text).unwrap_or(None);
                if let Some(order) = text.and_then(|t| PurchaseOrder::decode(reference, &t)) {
                    resv.queues.entry(sku).or_default().push(order);
                }
            }
        }
        if let Some(resv) = &found {
            let holds_stock = resv.parts.is_empty();
            *self.touched.lock().expect("not poisoned") = resv
                .items
                .iter()
                .filter(|_| holds_stock)
                .map(|l| l.sku.clone())
                .collect();
            self.parts.lock().expect("not poisoned").clone_from(&resv.parts);
        }
        let (mut writes, output) = self.step.decide(self.store, found, now_ms())?;
        if writes.is_empty() {
            return Err(Unwritten::Answered(output));
        }
        if let Some(slot) = &self.idem {
            writes.extend(slot.remember_json(&output));
        }
        Ok(Plan { writes, output })
    }
}
