//! A SKU's sale settings (a drop): when it opens and closes, and what one customer may take.

use super::api::SaleRequest;
use super::auth::{Admin, Reader};
use super::extract::{AppState, IdempotencyHeader, JsonBody, path_sku};
use super::once;
use crate::error::Error;
use crate::ops::{self, sale::SaleChange};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `PUT /v1/skus/{sku}/sale` (admin): change a SKU's sale settings.
#[utoipa::path(put, path = "/v1/skus/{sku}/sale", tag = "drops",
    params(super::api::SkuPath, super::api::IdempotencyKeyHeader), request_body = super::api::SaleRequest,
    responses((status = 200, description = "Every sale setting now in force (`null`: not set)", body = crate::ops::SaleSettings),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::UnknownSku,
        super::api::TooLarge,
        super::api::KeyReused,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn set_sale(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SaleRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    let change = SaleChange::try_from(body.get())?;
    once::respond(&state, idem, &format!("sale:{sku}"), &change, || async {
        Ok(once::json(
            StatusCode::OK,
            &ops::set_sale(&state.store, &sku, change).await?,
        ))
    })
    .await
}

/// `GET /v1/skus/{sku}/sale`: a SKU's sale settings.
#[utoipa::path(get, path = "/v1/skus/{sku}/sale", tag = "drops",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(super::api::SkuPath),
    responses((status = 200, description = "The SKU's sale settings (`null`: not set)", body = crate::ops::SaleSettings),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::InvalidRequest,
        super::api::UnknownSku,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn get_sale(_: Reader, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    Ok(HttpResponse::Ok().json(ops::get_sale(&state.store, &sku).await?))
}
