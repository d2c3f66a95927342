use super::auth::Reader;
use super::extract::{AppState, path_sku, query_param};
use crate::domain::Limit;
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /v1/skus/{sku}/movements?limit=n`: the SKU's stock changes, newest first.
#[utoipa::path(get, path = "/v1/skus/{sku}/movements", tag = "stock",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(super::api::SkuPath, ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Newest n, default 100")), responses((status = 200, description = "Stock changes, newest first", body = crate::ops::Movements),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::InvalidRequest,
        super::api::UnknownSku,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn movements(_: Reader, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    let limit = Limit::parse(query_param(&req, "limit")?.as_deref())?;
    Ok(HttpResponse::Ok().json(ops::movements(&state.store, &sku, limit).await?))
}
