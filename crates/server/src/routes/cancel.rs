use super::auth::Checkout;
use super::extract::{AppState, IdempotencyHeader, NoBody, reservation_id};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/reservations/{id}/cancel`: give the hold back.
#[utoipa::path(post, path = "/v1/reservations/{id}/cancel", tag = "reservations",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::ReservationPath, super::api::IdempotencyKeyHeader), responses((status = 200, description = "Cancelled; the units are available again", body = crate::ops::Reservation),
        super::api::HoldRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(reservation_id))]
pub(super) async fn cancel(
    _: Checkout,
    req: HttpRequest,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    _: NoBody,
) -> Result<HttpResponse, Error> {
    let id = reservation_id(&req)?;
    note!("reservation_id", tracing::field::display(&id));
    let idem = idem.for_request(&[]);
    Ok(HttpResponse::Ok().json(ops::cancel(&state.store, &id, idem.as_ref()).await?))
}
