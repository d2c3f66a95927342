use super::{Admin, AppState, JsonBody, path_param};
use crate::domain::{Available, InvalidInput, Sku};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `PUT /v1/skus/{sku}/stock` (admin): set `available`, creating the SKU if needed.
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
