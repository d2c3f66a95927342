use super::observe::RequestSpan;
use super::{AppState, IdempotencyHeader, JsonBody, StrategyParam};
use crate::domain::{CartItems, TtlSeconds, UserId};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpResponse, web};

/// `POST /v1/reservations`: hold a cart for `ttl_seconds`.
#[utoipa::path(post, path = "/v1/reservations", tag = "reservations",
    params(("strategy" = Option<crate::domain::Strategy>, Query, description = "watch (default), lua or broken (only with --allow-broken)"), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = r"^[!-~]{1,128}$", description = "1-128 visible ASCII characters; a repeat returns the first answer")), request_body = super::openapi::ReserveRequest, responses((status = 201, description = "Held until `expires_at`", body = crate::ops::Reserved,
            links(("get" = (operation_id = "get_reservation", parameters(("id" = "$response.body#/reservation_id")))), ("confirm" = (operation_id = "confirm", parameters(("id" = "$response.body#/reservation_id")))), ("cancel" = (operation_id = "cancel", parameters(("id" = "$response.body#/reservation_id")))), ("extend" = (operation_id = "extend", parameters(("id" = "$response.body#/reservation_id")))))),
        (status = 400, description = "Invalid request: the message names the field (`invalid_request`)", body = crate::error::ErrorBody),
        (status = 403, description = "`strategy=broken` on a server without --allow-broken (`broken_disabled`)", body = crate::error::ErrorBody),
        (status = 404, description = "No such SKU (`unknown_sku`, with `sku`)", body = crate::error::ErrorBody),
        (status = 409, description = "Not enough stock; nothing was taken (`insufficient_stock`, listing every short line in `items`)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = crate::error::ErrorBody),
        (status = 422, description = "Idempotency-Key reused with a different request (`idempotency_key_reused`)", body = crate::error::ErrorBody),
        (status = 503, description = "Redis unavailable or out of memory (`redis_unavailable`, `redis_out_of_memory`), or retries exhausted (`contention`, with a Retry-After header)", body = crate::error::ErrorBody))
)]
#[tracing::instrument(skip_all, fields(strategy = %strategy.0, lines))]
pub async fn reserve(
    strategy: StrategyParam,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    body: JsonBody,
    span: RequestSpan,
) -> Result<HttpResponse, Error> {
    let user = UserId::parse(body.required("user_id")?)?;
    let items = CartItems::parse(body.get("items"))?;
    let ttl = TtlSeconds::parse(body.get("ttl_seconds"))?;
    tracing::Span::current().record("lines", items.lines().len());
    let idem = idem.for_request(&[strategy.0.as_str(), &body.canonical()]);
    let done = ops::reserve(&state.store, strategy.0, &items, &user, ttl, idem.as_ref()).await?;
    span.took(strategy.0, done.effort.attempts);
    Ok(HttpResponse::Created().json(done))
}
