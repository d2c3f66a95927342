use super::auth::Checkout;
use super::extract::{AppState, reservation_id};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /v1/reservations/{id}`. Terminal reservations stay readable for the retention period.
#[utoipa::path(get, path = "/v1/reservations/{id}", tag = "reservations",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::ReservationPath), responses((status = 200, description = "The reservation", body = crate::ops::Reservation),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::UnknownReservation,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn get_reservation(
    _: Checkout,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = reservation_id(&req)?;
    Ok(HttpResponse::Ok().json(ops::get_reservation(&state.store, &id).await?))
}
