use super::api::{NewReplay, ReplayRequest};
use super::auth::Admin;
use super::extract::{AppState, JsonBody};
use crate::error::{Error, StoreError};
use actix_web::{HttpResponse, web};

/// `POST /v1/demo/replay` (admin): the dashboard's step-through panel. Replays the lost
/// update command by command, as `stockwatch demo race --interleave` does, on scratch keys
/// of its own (deleted afterwards, so it never touches real stock, and `broken` is served
/// without `--allow-broken`). The steps the lesson turns on carry a `mark`.
#[utoipa::path(post, path = "/v1/demo/replay", tag = "demo",
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "Every command and Redis's answer, in order", body = crate::demo::Replay),
        (status = 400, description = "Invalid request: the message names the field (`invalid_request`)", body = crate::error::ErrorBody),
        (status = 401, description = "No credential, or an unknown or revoked API key (`unauthorized`)", body = crate::error::ErrorBody),
        (status = 403, description = "Wrong admin token, or an API key without the `admin` scope (`forbidden`)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = crate::error::ErrorBody),
        (status = 503, description = "Redis unavailable (`redis_unavailable`)", body = crate::error::ErrorBody)),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(strategy, buyers))]
pub(super) async fn replay(
    _: Admin,
    state: web::Data<AppState>,
    body: JsonBody<ReplayRequest>,
) -> Result<HttpResponse, Error> {
    let NewReplay {
        strategy,
        buyers,
        stock,
    } = body.get().try_into()?;
    let span = tracing::Span::current();
    span.record("strategy", strategy.as_str());
    span.record("buyers", buyers);
    // Scratch keys per request: replays running at once, on any instance, never meet.
    // Under the server's own prefix (so ACLs on it still hold), short enough to read in a
    // step. Prefixes are ASCII and at most 64 long; 50 of it leaves room for the suffix.
    let base = state.store.keys().prefix();
    let prefix = format!("{}:r{:06x}", &base[..base.len().min(50)], rand::random::<u32>() >> 8);
    let replay = crate::demo::replay(&state.store, &prefix, strategy, buyers, stock)
        .await
        .map_err(|e| match e {
            crate::demo::ReplayError::Store(e) => Error::Store(e),
            other => Error::Store(StoreError::Protocol(other.to_string().into())),
        })?;
    Ok(HttpResponse::Ok().json(replay))
}
