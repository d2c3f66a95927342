use super::idempotency::Idempotency;
use super::journal::{Entry, journal_cmd};
use super::reservation::{self, Reservation, Step};
use super::saga;
use super::{Order, OrderLine, OrderSource};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{OrderId, RecordId, Reference, ReservationId, ReservationStatus};
use crate::error::Error;
use redis::Cmd;
use serde::{Deserialize, Serialize};

/// A confirmed reservation: the `201` body of `POST /v1/reservations/{id}/confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Confirmed {
    /// The order the held units were sold in.
    pub order_id: OrderId,
    /// The reservation, now `confirmed`.
    pub reservation_id: ReservationId,
    /// What was sold.
    pub items: Vec<OrderLine>,
}

/// Sells what an active reservation holds: `reserved` moves to `sold` and an order with
/// `source: reservation` is created, in one transaction that watches the reservation.
pub async fn confirm(store: &Inventory, id: &ReservationId, idem: Option<&Idempotency>) -> Result<Confirmed, Error> {
    let step = Confirm {
        // Fixed before the first attempt, so a retry writes the same order.
        order_id: OrderId::generate_in(id.slot()),
    };
    let ran = reservation::run(store, id, EntryKind::Confirm, idem, step).await?;
    saga::follow(store, &ran.parts).await;
    Ok(ran.output)
}

struct Confirm {
    order_id: OrderId,
}

impl Step for Confirm {
    type Output = Confirmed;

    fn decide(
        &self,
        store: &Inventory,
        found: Option<Reservation>,
        now_ms: i64,
    ) -> Result<(Vec<Cmd>, Confirmed), Error> {
        let resv = Reservation::require_active(found, now_ms)?;
        let ended = Reservation {
            status: ReservationStatus::Confirmed,
            order_id: Some(self.order_id),
            ..resv.clone()
        };
        let order = Order {
            order_id: self.order_id,
            user_id: resv.user_id.clone(),
            items: resv.items.clone(),
            created_at: now_ms,
            source: OrderSource::Reservation,
            reservation_id: Some(resv.reservation_id),
            status: None,
            returns: Vec::new(),
        };
        let mut writes = resv.end(store, &ended, "sold", EntryKind::Confirm, now_ms)?;
        let entry = Entry::new(
            EntryKind::Order,
            Reference::Record(RecordId::Order(order.order_id)),
            now_ms,
        )
        .order(&order);
        writes.extend(journal_cmd(store, self.order_id.slot(), &entry));
        writes.push(
            redis::cmd("SET")
                .arg(store.keys().order(&self.order_id))
                .arg(serde_json::to_string(&order).expect("order serializes"))
                .to_owned(),
        );
        Ok((
            writes,
            Confirmed {
                order_id: self.order_id,
                reservation_id: resv.reservation_id,
                items: resv.items,
            },
        ))
    }
}
