use super::{AppState, path_param};
use crate::domain::ReservationId;
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /v1/reservations/{id}`. Terminal reservations stay readable for the retention period.
#[utoipa::path(get, path = "/v1/reservations/{id}", tag = "reservations",
    params(super::openapi::ReservationPath), responses((status = 200, description = "The reservation", body = crate::ops::Reservation),
        super::openapi::UnknownReservation,
        super::openapi::Unavailable)
)]
#[tracing::instrument(skip_all)]
pub async fn get_reservation(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let id = reservation_id(&req)?;
    Ok(HttpResponse::Ok().json(ops::get_reservation(&state.store, &id).await?))
}

/// The `{id}` of a reservation path; anything that is not one of our ids is a 404 without
/// a Redis call.
pub(super) fn reservation_id(req: &HttpRequest) -> Result<ReservationId, Error> {
    ReservationId::parse(&path_param(req, "id")).ok_or(Error::UnknownReservation)
}
