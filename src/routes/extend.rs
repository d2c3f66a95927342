use super::get_reservation::reservation_id;
use super::{AppState, IdempotencyHeader, JsonBody};
use crate::domain::TtlSeconds;
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/reservations/{id}/extend`: the hold now lapses `ttl_seconds` from now.
#[utoipa::path(post, path = "/v1/reservations/{id}/extend", tag = "reservations",
    params(("id" = String, Path, description = "Reservation id (UUIDv7)"), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = r"^[!-~]{1,128}$", description = "1-128 visible ASCII characters; a repeat returns the first answer")), request_body = super::openapi::ExtendRequest, responses((status = 200, description = "The reservation with its new `expires_at`", body = crate::ops::Reservation),
        (status = 400, description = "Invalid request: the message names the field (`invalid_request`)", body = crate::error::ErrorBody),
        (status = 404, description = "No such reservation (`unknown_reservation`)", body = crate::error::ErrorBody),
        (status = 409, description = "The reservation is confirmed, cancelled or expired (`reservation_not_active`, with `status`)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = crate::error::ErrorBody),
        (status = 422, description = "Idempotency-Key reused with a different request (`idempotency_key_reused`)", body = crate::error::ErrorBody),
        (status = 503, description = "Redis unavailable or out of memory (`redis_unavailable`, `redis_out_of_memory`), or retries exhausted (`contention`, with a Retry-After header)", body = crate::error::ErrorBody))
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
