use super::{Admin, AppState, JsonBody, path_param};
use crate::domain::{Quantity, Sku};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/skus/{sku}/restock` (admin): add to `available` of an existing SKU.
#[utoipa::path(post, path = "/v1/skus/{sku}/restock", tag = "admin",
    params(("sku" = crate::domain::Sku, Path, description = "The SKU")), request_body = super::openapi::RestockRequest, responses((status = 200, description = "The stock, with `quantity` added", body = crate::ops::Stock),
        super::openapi::InvalidRequest,
        super::openapi::Unauthorized,
        super::openapi::Forbidden,
        super::openapi::UnknownSku,
        super::openapi::TooLarge,
        super::openapi::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(skip_all, fields(sku))]
pub async fn restock(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let raw = path_param(&req, "sku");
    let sku = Sku::parse(&raw).map_err(|_| Error::unknown_sku(&raw))?;
    tracing::Span::current().record("sku", sku.as_str());
    let quantity = Quantity::parse(body.required("quantity")?, "quantity")?;
    Ok(HttpResponse::Ok().json(ops::restock(&state.store, &sku, quantity).await?))
}
