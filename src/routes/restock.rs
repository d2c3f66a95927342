use super::api::{NewRestock, RestockRequest};
use super::extract::{Admin, AppState, JsonBody, path_sku};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/skus/{sku}/restock` (admin): add to `available` of an existing SKU.
#[utoipa::path(post, path = "/v1/skus/{sku}/restock", tag = "admin",
    params(super::api::SkuPath), request_body = super::api::RestockRequest, responses((status = 200, description = "The stock, with `quantity` added", body = crate::ops::Stock),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::UnknownSku,
        super::api::TooLarge,
        super::api::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub async fn restock(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<RestockRequest>,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    tracing::Span::current().record("sku", sku.as_str());
    let NewRestock { quantity, location } = body.get().try_into()?;
    Ok(HttpResponse::Ok().json(ops::restock(&state.store, &sku, quantity, location.as_ref()).await?))
}
