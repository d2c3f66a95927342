use super::api::{NewRush, RushRequest};
use super::auth::Admin;
use super::extract::{AppState, JsonBody};
use crate::domain::Strategy;
use crate::error::Error;
use actix_web::{HttpResponse, web};

/// `POST /v1/demo/rush` (admin): the dashboard's rush panel. Sets the SKU's stock, launches
/// `buyers` purchases of one unit at once through `strategy`, and answers with what Redis
/// holds afterwards. Every commit shows up on `GET /v1/events` as it happens. `batching`
/// overrides the server's group commit for this rush (false: textbook WATCH, whose
/// conflicts and retries are what a class wants to see).
#[utoipa::path(post, path = "/v1/demo/rush", tag = "demo",
    request_body = RushRequest,
    responses(
        (status = 200, description = "The rush, read back from Redis", body = crate::demo::RushResult),
        (status = 400, description = "Invalid request: the message names the field (`invalid_request`)", body = crate::error::ErrorBody),
        (status = 401, description = "No credential, or an unknown or revoked API key (`unauthorized`)", body = crate::error::ErrorBody),
        (status = 403, description = "Wrong admin token, or an API key without the `admin` scope (`forbidden`), or `broken` without --allow-broken (`broken_disabled`)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = crate::error::ErrorBody),
        (status = 503, description = "Redis unavailable (`redis_unavailable`)", body = crate::error::ErrorBody)),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku, strategy, buyers))]
pub(super) async fn rush(
    _: Admin,
    state: web::Data<AppState>,
    body: JsonBody<RushRequest>,
) -> Result<HttpResponse, Error> {
    let NewRush { rush, batching } = body.get().try_into()?;
    if rush.strategy == Strategy::Broken && !state.allow_broken {
        return Err(Error::BrokenDisabled);
    }
    let store = match batching {
        None => state.store.clone(),
        Some(on) => state.store.with_batching(on),
    };
    let span = tracing::Span::current();
    span.record("sku", rush.sku.as_str());
    span.record("strategy", rush.strategy.as_str());
    span.record("buyers", rush.buyers);
    Ok(HttpResponse::Ok().json(rush.run(&store).await?))
}

/// `POST /v1/demo/bots` (admin): the dashboard's drop panel. A drop limited per customer,
/// where bots fire many requests at once and people one each, through one strategy; who
/// got what. The SKU is stocked and limited first and retired after.
#[utoipa::path(post, path = "/v1/demo/bots", tag = "demo",
    request_body = super::api::BotsRequest,
    responses(
        (status = 200, description = "Who got the units", body = crate::demo::DropResult),
        (status = 400, description = "Invalid request: the message names the field (`invalid_request`)", body = crate::error::ErrorBody),
        (status = 401, description = "No credential, or an unknown or revoked API key (`unauthorized`)", body = crate::error::ErrorBody),
        (status = 403, description = "Wrong admin token, or an API key without the `admin` scope (`forbidden`), or `broken` without --allow-broken (`broken_disabled`)", body = crate::error::ErrorBody),
        (status = 409, description = "Units of the SKU are held (`sku_in_use`): it cannot be retired", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = crate::error::ErrorBody),
        (status = 503, description = "Redis unavailable (`redis_unavailable`)", body = crate::error::ErrorBody)),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku, strategy))]
pub(super) async fn bots(
    _: Admin,
    state: web::Data<AppState>,
    body: JsonBody<super::api::BotsRequest>,
) -> Result<HttpResponse, Error> {
    let drop = crate::demo::Drop::try_from(body.get())?;
    if drop.strategy == Strategy::Broken && !state.allow_broken {
        return Err(Error::BrokenDisabled);
    }
    Ok(HttpResponse::Ok().json(drop.run(&state.store).await?))
}
