use super::api::ExtendRequest;
use super::auth::Checkout;
use super::extract::{AppState, IdempotencyHeader, JsonBody, reservation_id};
use crate::domain::TtlSeconds;
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/reservations/{id}/extend`: the hold now lapses `ttl_seconds` from now.
#[utoipa::path(post, path = "/v1/reservations/{id}/extend", tag = "reservations",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::ReservationPath, super::api::IdempotencyKeyHeader), request_body = super::api::ExtendRequest, responses((status = 200, description = "The reservation with its new `expires_at`", body = crate::ops::Reservation),
        super::api::HoldRefusals,
        super::api::TooLarge)
)]
#[tracing::instrument(level = "debug", skip_all, fields(reservation_id))]
pub(super) async fn extend(
    _: Checkout,
    req: HttpRequest,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    body: JsonBody<ExtendRequest>,
) -> Result<HttpResponse, Error> {
    let id = reservation_id(&req)?;
    note!("reservation_id", tracing::field::display(&id));
    let ttl = TtlSeconds::try_from(body.get())?;
    let idem = idem.for_command(&[], &ttl);
    Ok(HttpResponse::Ok().json(ops::extend(&state.store, &id, ttl, idem.as_ref()).await?))
}
