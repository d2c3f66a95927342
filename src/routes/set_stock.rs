use super::{Admin, AppState, JsonBody, path_param};
use crate::domain::{Available, InvalidInput, Sku};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `PUT /v1/skus/{sku}/stock` (admin): set `available`, creating the SKU if needed.
#[utoipa::path(put, path = "/v1/skus/{sku}/stock", tag = "admin",
    params(("sku" = String, Path, pattern = r"^[A-Za-z0-9._-]{1,64}$", description = "SKU: 1-64 of A-Z a-z 0-9 . _ -")), request_body = super::openapi::SetStockRequest, responses((status = 200, description = "The stock, with `available` set", body = crate::ops::Stock),
        (status = 400, description = "Invalid request: the message names the field (`invalid_request`)", body = crate::error::ErrorBody),
        (status = 401, description = "Admin token missing (`unauthorized`)", body = crate::error::ErrorBody),
        (status = 403, description = "Wrong admin token (`forbidden`)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`)", body = crate::error::ErrorBody),
        (status = 503, description = "Redis unavailable or out of memory (`redis_unavailable`, `redis_out_of_memory`), or retries exhausted (`contention`, with a Retry-After header)", body = crate::error::ErrorBody)),
    security(("admin_token" = []))
)]
#[tracing::instrument(skip_all, fields(sku))]
pub async fn set_stock(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let sku = Sku::parse(&path_param(&req, "sku")).map_err(|e| InvalidInput::new(format!("path {e}")))?;
    tracing::Span::current().record("sku", sku.as_str());
    let available = Available::parse(body.required("available")?, "available")?;
    Ok(HttpResponse::Ok().json(ops::set_stock(&state.store, &sku, available).await?))
}
