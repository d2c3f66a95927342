use super::auth::Reader;
use super::extract::{AppState, path_sku};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /v1/skus/{sku}`. A name that cannot be a SKU is a 400, as on every endpoint.
#[utoipa::path(get, path = "/v1/skus/{sku}", tag = "stock",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(super::api::SkuPath), responses((status = 200, description = "The stock object", body = crate::ops::Stock),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::InvalidRequest,
        super::api::UnknownSku,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn get_stock(_: Reader, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    Ok(HttpResponse::Ok().json(ops::get_stock(&state.store, &sku).await?))
}
