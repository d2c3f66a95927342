use super::idempotency::Idempotency;
use super::reservation::{self, Reservation, Step};
use super::saga;
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{ReservationId, ReservationStatus};
use crate::error::Error;
use redis::Cmd;

/// Gives an active hold back: `reserved` returns to `available`, in one transaction that
/// watches the reservation. Answers the reservation, now `cancelled`.
pub async fn cancel(store: &Inventory, id: &ReservationId, idem: Option<&Idempotency>) -> Result<Reservation, Error> {
    let ran = reservation::run(store, id, EntryKind::Cancel, idem, Cancel).await?;
    saga::follow(store, &ran.parts).await;
    Ok(ran.output)
}

struct Cancel;

impl Step for Cancel {
    type Output = Reservation;

    fn decide(
        &self,
        store: &Inventory,
        found: Option<Reservation>,
        now_ms: i64,
    ) -> Result<(Vec<Cmd>, Reservation), Error> {
        let resv = Reservation::require_active(found, now_ms)?;
        let ended = Reservation {
            status: ReservationStatus::Cancelled,
            ..resv.clone()
        };
        Ok((resv.end(store, &ended, "available", EntryKind::Cancel, now_ms)?, ended))
    }
}
