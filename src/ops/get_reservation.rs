use super::Reservation;
use super::now_ms;
use crate::domain::ReservationId;
use crate::error::Error;
use crate::store::Store;
use std::collections::HashMap;

/// Reads one reservation, with the status clients see (a lapsed, unswept hold is `expired`).
pub async fn get_reservation(store: &Store, id: &ReservationId) -> Result<Reservation, Error> {
    let fields: HashMap<String, String> = store
        .query(redis::cmd("HGETALL").arg(store.keys().reservation(id)))
        .await?;
    let mut resv = Reservation::from_fields(id, fields)
        .map_err(Error::Store)?
        .ok_or(Error::UnknownReservation)?;
    resv.status = resv.effective_status(now_ms());
    Ok(resv)
}
