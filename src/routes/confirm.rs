use super::get_reservation::reservation_id;
use super::{AppState, IdempotencyHeader};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/reservations/{id}/confirm`: sell what the hold holds.
#[utoipa::path(post, path = "/v1/reservations/{id}/confirm", tag = "reservations",
    params(("id" = String, Path, description = "Reservation id (UUIDv7)"), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = r"^[!-~]{1,128}$", description = "1-128 visible ASCII characters; a repeat returns the first answer")), responses((status = 201, description = "Sold: the order", body = crate::ops::Confirmed,
            links(("order" = (operation_id = "get_order", parameters(("id" = "$response.body#/order_id")))))),
        (status = 400, description = "Invalid request: the message names the field (`invalid_request`)", body = crate::error::ErrorBody),
        (status = 404, description = "No such reservation (`unknown_reservation`)", body = crate::error::ErrorBody),
        (status = 409, description = "The reservation is confirmed, cancelled or expired (`reservation_not_active`, with `status`)", body = crate::error::ErrorBody),
        (status = 422, description = "Idempotency-Key reused with a different request (`idempotency_key_reused`)", body = crate::error::ErrorBody),
        (status = 503, description = "Redis unavailable or out of memory (`redis_unavailable`, `redis_out_of_memory`), or retries exhausted (`contention`, with a Retry-After header)", body = crate::error::ErrorBody))
)]
#[tracing::instrument(skip_all, fields(reservation_id))]
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let id = reservation_id(&req)?;
    tracing::Span::current().record("reservation_id", tracing::field::display(&id));
    let idem = idem.for_request(&[]);
    Ok(HttpResponse::Created().json(ops::confirm(&state.store, &id, idem.as_ref()).await?))
}
