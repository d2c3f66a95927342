//! A part follows its saga: whoever finds one (the coordinator after its decision, a
//! transition of the parent reservation, the expiry worker at the part's deadline) reads
//! the decision and the parent, then makes the part agree in one transaction on the part.
//!
//! Every step here is safe to repeat and to race: each watches the part, acts only while
//! it is `active`, and the decision and the parent's terminal states never change once
//! written, so two finders always agree on what the part becomes.

use super::super::get_reservation::load;
use super::super::now_ms;
use super::super::reservation::{self, Reservation, Step};
use super::decision::{Decision, decision, give_up};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{OrderId, RecordId, ReservationId, ReservationStatus};
use crate::error::{Error, StoreError};
use redis::Cmd;
use serde::{Deserialize, Serialize};

/// What became of one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PartOutcome {
    /// Its units went to `sold`: the saga committed an order, or the reservation was confirmed.
    Sold,
    /// Its units went back to `available`: the saga aborted, or the reservation ended unsold.
    Released {
        /// How far past the part's deadline (0 when released before it).
        lag_ms: i64,
    },
    /// It now has the reservation's deadline.
    Rearmed,
    /// No decision yet and its deadline is ahead: the coordinator is still at work.
    Pending,
    /// It had ended already, or does not exist (a hold whose reply was lost never landed).
    AlreadyEnded,
}

/// Settles each part, one after another. Failures are logged, not returned: the part stays
/// a timed hold, and the expiry worker settles it at its deadline.
pub(crate) async fn follow(store: &Inventory, parts: &[ReservationId]) {
    for part in parts {
        if let Err(e) = settle_part(store, part).await {
            tracing::warn!(error = %e, part = %part, "saga: could not settle a part; the expiry worker will");
        }
    }
}

/// Makes one part agree with its saga's decision and parent.
pub(crate) async fn settle_part(store: &Inventory, id: &ReservationId) -> Result<PartOutcome, Error> {
    let Some(part) = load(store, id).await? else {
        return Ok(PartOutcome::AlreadyEnded);
    };
    let Some(parent) = part.saga.filter(|_| part.status == ReservationStatus::Active) else {
        return Ok(PartOutcome::AlreadyEnded);
    };
    let now = now_ms();
    let decided = match decision(store, &parent).await? {
        Some(d) => d,
        None if now < part.expires_at => return Ok(PartOutcome::Pending),
        // The coordinator had its time: give up on it, unless it decided meanwhile.
        None => give_up(store, &parent).await?,
    };
    let action = match (decided, parent) {
        (Decision::Abort, _) => Action::release(&part, now),
        (Decision::Commit, RecordId::Order(order_id)) => Action::Sell { order_id },
        (Decision::Commit, RecordId::Reservation(parent_id)) => after_parent(store, parent_id, &part).await?,
    };
    let scope = action.scope();
    let rearmed_to = match action {
        Action::Rearm { expires_at } => Some(expires_at),
        _ => None,
    };
    let followed = reservation::run(store, id, scope, None, action).await?.output;
    if let (PartOutcome::Rearmed, Some(at)) = (followed, rearmed_to) {
        // An earlier deadline than the hold's must reach the worker's schedule too.
        store.hold_added(id.slot(), at);
    }
    Ok(followed)
}

/// What the parent reservation says of its part. A parent past its deadline is expired
/// first (a transaction on the parent, which a racing confirm or cancel may win), so the
/// part never acts on a state the parent could still leave.
async fn after_parent(store: &Inventory, parent_id: ReservationId, part: &Reservation) -> Result<Action, Error> {
    for _ in 0..3 {
        let now = now_ms();
        let Some(parent) = load(store, &parent_id).await? else {
            // Aged out long after it ended: nothing can sell this part any more.
            return Ok(Action::release(part, now));
        };
        return Ok(match parent.status {
            ReservationStatus::Active if now < parent.expires_at => Action::Rearm {
                expires_at: parent.expires_at,
            },
            ReservationStatus::Active => {
                reservation::run(store, &parent_id, EntryKind::Expire, None, Lapse).await?;
                continue;
            }
            ReservationStatus::Confirmed => Action::Sell {
                order_id: parent.order_id.ok_or_else(|| {
                    StoreError::Protocol(format!("confirmed reservation {parent_id} names no order").into())
                })?,
            },
            ReservationStatus::Cancelled => Action::Release {
                kind: EntryKind::Cancel,
                now,
            },
            ReservationStatus::Expired => Action::Release {
                kind: EntryKind::Expire,
                now,
            },
        });
    }
    Err(StoreError::Protocol(format!("saga parent {parent_id} would not settle").into()).into())
}

/// What a part becomes: one step on the part.
enum Action {
    Sell { order_id: OrderId },
    Release { kind: EntryKind, now: i64 },
    Rearm { expires_at: i64 },
}

impl Action {
    /// Released by a lapse when its deadline passed, else by a cancel.
    fn release(part: &Reservation, now: i64) -> Self {
        let kind = if now >= part.expires_at {
            EntryKind::Expire
        } else {
            EntryKind::Cancel
        };
        Self::Release { kind, now }
    }

    /// The movement kind it writes, which also names it in metrics and events.
    fn scope(&self) -> EntryKind {
        match self {
            Self::Sell { .. } => EntryKind::Confirm,
            Self::Release { kind, .. } => *kind,
            Self::Rearm { .. } => EntryKind::Extend,
        }
    }
}

impl Step for Action {
    type Output = PartOutcome;

    fn moved_stock(output: &PartOutcome) -> bool {
        matches!(output, PartOutcome::Sold | PartOutcome::Released { .. })
    }

    fn decide(
        &self,
        store: &Inventory,
        found: Option<Reservation>,
        now_ms: i64,
    ) -> Result<(Vec<Cmd>, PartOutcome), Error> {
        let Some(part) = found.filter(|p| p.status == ReservationStatus::Active) else {
            return Ok((Vec::new(), PartOutcome::AlreadyEnded));
        };
        match self {
            Self::Sell { order_id } => {
                let ended = Reservation {
                    status: ReservationStatus::Confirmed,
                    order_id: Some(*order_id),
                    ..part.clone()
                };
                Ok((
                    part.end(store, &ended, "sold", EntryKind::Confirm, now_ms)?,
                    PartOutcome::Sold,
                ))
            }
            Self::Release { kind, now } => {
                let status = if *kind == EntryKind::Expire {
                    ReservationStatus::Expired
                } else {
                    ReservationStatus::Cancelled
                };
                let ended = Reservation { status, ..part.clone() };
                let lag_ms = (now - part.expires_at).max(0);
                Ok((
                    part.end(store, &ended, "available", *kind, now_ms)?,
                    PartOutcome::Released { lag_ms },
                ))
            }
            Self::Rearm { expires_at } if *expires_at == part.expires_at => Ok((Vec::new(), PartOutcome::Rearmed)),
            Self::Rearm { expires_at } => Ok((part.rearm(store, *expires_at, now_ms).0, PartOutcome::Rearmed)),
        }
    }
}

/// Ends a cross-slot reservation whose deadline passed; it holds no stock itself, so this
/// only writes its status (its parts follow).
struct Lapse;

impl Step for Lapse {
    type Output = bool;

    fn moved_stock(_: &bool) -> bool {
        false
    }

    fn decide(&self, store: &Inventory, found: Option<Reservation>, now_ms: i64) -> Result<(Vec<Cmd>, bool), Error> {
        match found {
            Some(resv) if resv.status == ReservationStatus::Active && now_ms >= resv.expires_at => {
                let ended = Reservation {
                    status: ReservationStatus::Expired,
                    ..resv.clone()
                };
                Ok((resv.end(store, &ended, "available", EntryKind::Expire, now_ms)?, true))
            }
            _ => Ok((Vec::new(), false)),
        }
    }
}
