use super::idempotency::Idempotency;
use super::reservation::{self, Reservation, Step};
use super::saga;
use crate::Inventory;
use crate::convert;
use crate::domain::{EntryKind, ReservationId, TtlSeconds};
use crate::error::Error;
use redis::Cmd;

/// Moves an active hold's deadline to now + `ttl` (later or sooner) and re-scores it in the
/// expiry index, in one transaction that watches the reservation.
pub async fn extend(
    store: &Inventory,
    id: &ReservationId,
    ttl: TtlSeconds,
    idem: Option<&Idempotency>,
) -> Result<Reservation, Error> {
    let ran = reservation::run(store, id, EntryKind::Extend, idem, Extend { ttl }).await?;
    if ran.parts.is_empty() {
        store.hold_added(id.slot(), ran.output.expires_at);
    }
    saga::follow(store, &ran.parts).await;
    Ok(ran.output)
}

struct Extend {
    ttl: TtlSeconds,
}

impl Step for Extend {
    type Output = Reservation;

    fn moved_stock(_: &Reservation) -> bool {
        false
    }

    fn decide(
        &self,
        store: &Inventory,
        found: Option<Reservation>,
        now_ms: i64,
    ) -> Result<(Vec<Cmd>, Reservation), Error> {
        let resv = Reservation::require_active(found, now_ms)?;
        let expires_at = now_ms + convert::millis_i64(self.ttl.duration());
        Ok(resv.rearm(store, expires_at, now_ms))
    }
}
