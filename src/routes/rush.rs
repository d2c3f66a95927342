use super::{Admin, AppState, JsonBody};
use crate::demo::{MAX_BUYERS, Rush};
use crate::domain::{Available, InvalidInput, Sku, Strategy};
use crate::error::Error;
use actix_web::{HttpResponse, web};

/// `POST /v1/demo/rush` (admin): the dashboard's rush panel. Sets the SKU's stock, launches
/// `buyers` purchases of one unit at once through `strategy`, and answers with what Redis
/// holds afterwards. Every commit shows up on `GET /v1/events` as it happens. `batching`
/// overrides the server's group commit for this rush (false: textbook WATCH, whose
/// conflicts and retries are what a class wants to see).
#[utoipa::path(post, path = "/v1/demo/rush", tag = "demo",
    request_body = super::openapi::RushRequest,
    responses(
        (status = 200, description = "The rush, read back from Redis", body = crate::demo::RushResult),
        (status = 400, description = "Invalid request: the message names the field (`invalid_request`)", body = crate::error::ErrorBody),
        (status = 401, description = "Admin token missing (`unauthorized`)", body = crate::error::ErrorBody),
        (status = 403, description = "Wrong admin token (`forbidden`), or `broken` without --allow-broken (`broken_disabled`)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = crate::error::ErrorBody),
        (status = 503, description = "Redis unavailable (`redis_unavailable`)", body = crate::error::ErrorBody)),
    security(("admin_token" = []))
)]
#[tracing::instrument(skip_all, fields(sku, strategy, buyers))]
pub async fn rush(_: Admin, state: web::Data<AppState>, body: JsonBody) -> Result<HttpResponse, Error> {
    let sku = Sku::parse(body.required("sku")?.as_str().unwrap_or_default())?;
    let buyers = crate::domain::whole_number(body.required("buyers")?)
        .filter(|n| (1..=MAX_BUYERS).contains(n))
        .ok_or_else(|| InvalidInput::new(format!("buyers must be an integer from 1 to {MAX_BUYERS}")))?;
    let stock = Available::parse(body.required("stock")?, "stock")?;
    let strategy = Strategy::parse(body.get("strategy").and_then(|v| v.as_str()))?;
    if strategy == Strategy::Broken && !state.allow_broken {
        return Err(Error::BrokenDisabled);
    }
    let store = match body.get("batching") {
        None | Some(serde_json::Value::Null) => state.store.clone(),
        Some(serde_json::Value::Bool(on)) => state.store.with_batching(*on),
        Some(_) => return Err(InvalidInput::new("batching must be true or false").into()),
    };
    let span = tracing::Span::current();
    span.record("sku", sku.as_str());
    span.record("strategy", strategy.as_str());
    span.record("buyers", buyers);
    let rush = Rush {
        sku,
        buyers,
        stock,
        strategy,
    };
    Ok(HttpResponse::Ok().json(rush.run(&store).await?))
}
