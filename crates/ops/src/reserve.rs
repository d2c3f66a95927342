use super::idempotency::{Idempotency, StoredAnswer};
use super::reservation::Reservation;
use super::saga::{self, CrossSlotCart, Parent};
use super::take::{Take, Taken};
use super::{CheckoutLine, Effort, OrderLine, now_ms};
use crate::Inventory;
use crate::convert;
use crate::domain::{CartItems, EntryKind, RecordId, ReservationId, ReservationStatus, Strategy, TtlSeconds, UserId};
use crate::error::{Error, StoreError};
use serde::Serialize;

/// A new hold: the `201` body of `POST /v1/reservations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reserved {
    /// The new reservation.
    pub reservation_id: ReservationId,
    /// Always `active` for a new hold.
    pub status: ReservationStatus,
    /// Every line, in cart order.
    pub items: Vec<CheckoutLine>,
    /// Who holds it.
    pub user_id: UserId,
    /// When the hold lapses unless confirmed, cancelled or extended (epoch ms).
    pub expires_at: i64,
    /// Attempts and conflicts it took.
    #[serde(flatten)]
    pub effort: Effort,
}

/// Holds a cart for `ttl`: in one transaction (or script), every line moves from
/// `available` to `reserved`, the reservation is stored `active`, and it enters the expiry
/// index scored by its deadline. All or nothing, like a checkout.
pub async fn reserve(
    store: &Inventory,
    strategy: Strategy,
    items: &CartItems,
    user: &UserId,
    ttl: TtlSeconds,
    idem: Option<&Idempotency>,
) -> Result<Reserved, Error> {
    let slot = store.keys().slot_of_cart(items);
    let id = ReservationId::generate_in(slot);
    let at_ms = now_ms();
    let expires_at = at_ms + convert::millis_i64(ttl.duration());
    let resv = Reservation {
        reservation_id: id,
        status: ReservationStatus::Active,
        items: OrderLine::of(items),
        user_id: user.clone(),
        expires_at,
        created_at: at_ms,
        order_id: None,
        parts: Vec::new(),
        saga: None,
        counted: Vec::new(),
        queues: Default::default(),
    };
    if saga::spans_slots(store, items) {
        // Boxed: a saga's future is large, and inline it would be moved on every hold.
        let taken = Box::pin(
            CrossSlotCart {
                store,
                strategy,
                items,
                scope: EntryKind::Reserve,
                idem,
                user_id: user.clone(),
                at_ms,
                parent: Parent::Reservation(resv),
            }
            .run(),
        )
        .await?;
        return reserved(items, user, taken);
    }
    let idem = StoredAnswer::claim_if_keyed(store, "reserve", idem, slot).await?;
    // Before the hold exists, so the worker's set of slots is never missing this one.
    store.index_expiry_slot(slot).await?;
    let taken = Take::hold(store, items.clone(), &resv, idem, store.deadline())
        .run(strategy, items)
        .await?;
    store.hold_added(slot, taken.expires_at);
    reserved(items, user, taken)
}

/// The `201` body for a take that went through.
fn reserved(items: &CartItems, user: &UserId, taken: Taken) -> Result<Reserved, Error> {
    let RecordId::Reservation(reservation_id) = taken.reference else {
        return Err(StoreError::Protocol(format!("a hold answered with order {}", taken.reference).into()).into());
    };
    Ok(Reserved {
        reservation_id,
        status: ReservationStatus::Active,
        user_id: user.clone(),
        expires_at: taken.expires_at,
        effort: taken.effort,
        items: CheckoutLine::zip(items, taken),
    })
}
