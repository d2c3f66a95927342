use super::api::{NewStock, SetStockRequest};
use super::auth::Admin;
use super::extract::{AppState, IdempotencyHeader, JsonBody, path_sku};
use super::once;
use crate::error::Error;
use crate::ops;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `PUT /v1/skus/{sku}/stock` (admin): set `available`, creating the SKU if needed.
#[utoipa::path(put, path = "/v1/skus/{sku}/stock", tag = "admin",
    params(super::api::SkuPath, super::api::IdempotencyKeyHeader), request_body = super::api::SetStockRequest, responses((status = 200, description = "The stock, with `available` set", body = crate::ops::Stock),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::TooLarge,
        super::api::KeyReused,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn set_stock(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SetStockRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    let command = NewStock::try_from(body.get())?;
    once::respond(&state, idem, &format!("set_stock:{sku}"), &command, || async {
        let (available, safety) = match command {
            NewStock::Level(available) => (available, None),
            NewStock::WithSafety {
                available,
                safety_stock,
            } => (available, Some(safety_stock)),
        };
        let default = crate::domain::Location::default_location();
        let stock = ops::set_location_stock(&state.store, &sku, &default, available, None, safety).await?;
        Ok(once::json(StatusCode::OK, &stock))
    })
    .await
}
