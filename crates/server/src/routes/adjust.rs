use super::api::{AdjustmentRequest, NewAdjustment};
use super::auth::Admin;
use super::extract::{AppState, IdempotencyHeader, JsonBody};
use super::once;
use super::set_location_stock::sku_and_location;
use crate::error::Error;
use crate::ops;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/skus/{sku}/locations/{location}/adjustments` (admin): correct `available` at
/// one location to a physical count (or by a difference), with a reason.
#[utoipa::path(post, path = "/v1/skus/{sku}/locations/{location}/adjustments", tag = "admin",
    params(super::api::LocationPath, super::api::IdempotencyKeyHeader), request_body = super::api::AdjustmentRequest,
    responses((status = 200, description = "The stock after the adjustment", body = crate::ops::Stock),
        super::api::StockroomRefusals),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku, location))]
pub(super) async fn adjust(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<AdjustmentRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let (sku, location) = sku_and_location(&req)?;
    let command = NewAdjustment::try_from(body.get())?;
    once::respond(&state, idem, &format!("adjust:{sku}:{location}"), &command, || async {
        let NewAdjustment { correction, reason, of } = command;
        let stock = ops::adjust(&state.store, &sku, &location, correction, reason, of).await?;
        Ok(once::json(StatusCode::OK, &stock))
    })
    .await
}
