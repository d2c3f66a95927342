use super::api::{NewTransfer, TransferRequest};
use super::extract::{Admin, AppState, JsonBody, path_sku};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/skus/{sku}/transfers` (admin): move available units between two locations of
/// one SKU, all or nothing.
#[utoipa::path(post, path = "/v1/skus/{sku}/transfers", tag = "admin",
    params(super::api::SkuPath), request_body = super::api::TransferRequest,
    responses((status = 200, description = "The stock after the transfer", body = crate::ops::Stock),
        super::api::StockroomRefusals),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub async fn transfer(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<TransferRequest>,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    tracing::Span::current().record("sku", sku.as_str());
    let NewTransfer { from, to, quantity } = body.get().try_into()?;
    Ok(HttpResponse::Ok().json(ops::transfer(&state.store, &sku, &from, &to, quantity).await?))
}
