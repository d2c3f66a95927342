use super::api::{NewHold, ReserveRequest};
use super::auth::Checkout;
use super::extract::{AdmissionHeader, AppState, IdempotencyHeader, JsonBody, StrategyParam};
use super::observe::RequestSpan;
use crate::error::Error;
use crate::ops;
use actix_web::{HttpResponse, web};

/// `POST /v1/reservations`: hold a cart for `ttl_seconds`.
#[utoipa::path(post, path = "/v1/reservations", tag = "reservations",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::StrategyQuery, super::api::IdempotencyKeyHeader, super::api::AdmissionParam), request_body = super::api::ReserveRequest, responses((status = 201, description = "Held until `expires_at`", body = crate::ops::Reserved,
            links(("get" = (operation_id = "get_reservation", parameters(("id" = "$response.body#/reservation_id")))), ("confirm" = (operation_id = "confirm", parameters(("id" = "$response.body#/reservation_id")))), ("cancel" = (operation_id = "cancel", parameters(("id" = "$response.body#/reservation_id")))), ("extend" = (operation_id = "extend", parameters(("id" = "$response.body#/reservation_id")))))),
        super::api::TakeRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(strategy = %strategy.0, lines))]
pub(super) async fn reserve(
    _: Checkout,
    strategy: StrategyParam,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    admission: AdmissionHeader,
    body: JsonBody<ReserveRequest>,
    span: RequestSpan,
) -> Result<HttpResponse, Error> {
    let command = NewHold::try_from(body.get())?;
    let idem = idem.for_command(&[strategy.0.as_str()], &command);
    let NewHold { user, items, ttl } = command;
    note!("lines", items.lines().len());
    // Boxed: the take's future is kilobytes, and inline it would be copied with this
    // handler's future wherever actix moves that.
    let done = Box::pin(ops::reserve(
        &state.store_for(&admission, &user),
        strategy.0,
        &items,
        &user,
        ttl,
        idem.as_ref(),
    ))
    .await?;
    span.took(strategy.0, done.effort.attempts);
    Ok(super::reply::created(&done))
}
