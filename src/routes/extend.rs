use super::get_reservation::reservation_id;
use super::{AppState, IdempotencyHeader, JsonBody};
use crate::domain::TtlSeconds;
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/reservations/{id}/extend`: the hold now lapses `ttl_seconds` from now.
#[utoipa::path(post, path = "/v1/reservations/{id}/extend", tag = "reservations",
    params(super::openapi::ReservationPath, super::openapi::IdempotencyKeyHeader), request_body = super::openapi::ExtendRequest, responses((status = 200, description = "The reservation with its new `expires_at`", body = crate::ops::Reservation),
        super::openapi::HoldRefusals,
        super::openapi::TooLarge)
)]
#[tracing::instrument(skip_all, fields(reservation_id))]
pub async fn extend(
    req: HttpRequest,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let id = reservation_id(&req)?;
    tracing::Span::current().record("reservation_id", tracing::field::display(&id));
    let ttl = TtlSeconds::parse(Some(body.required("ttl_seconds")?))?;
    let idem = idem.for_request(&[&body.canonical()]);
    Ok(HttpResponse::Ok().json(ops::extend(&state.store, &id, ttl, idem.as_ref()).await?))
}
