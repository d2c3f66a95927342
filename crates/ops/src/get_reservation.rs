use super::Reservation;
use super::now_ms;
use crate::Inventory;
use crate::domain::ReservationId;
use crate::error::Error;
use std::collections::HashMap;

/// Reads one reservation, with the status clients see (a lapsed, unswept hold is `expired`).
pub async fn get_reservation(store: &Inventory, id: &ReservationId) -> Result<Reservation, Error> {
    let mut resv = load(store, id).await?.ok_or(Error::UnknownReservation)?;
    resv.status = resv.effective_status(now_ms());
    Ok(resv)
}

/// One reservation as stored (its status not adjusted for the time); `None` when absent.
pub(crate) async fn load(store: &Inventory, id: &ReservationId) -> Result<Option<Reservation>, Error> {
    let fields: HashMap<String, String> = store
        .query(redis::cmd("HGETALL").arg(store.keys().reservation(id)))
        .await?;
    Ok(Reservation::from_fields(id, fields)?)
}
