use super::api::{NewTransfer, TransferRequest};
use super::auth::Admin;
use super::extract::{AppState, IdempotencyHeader, JsonBody, path_sku};
use super::once;
use crate::error::Error;
use crate::ops;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/skus/{sku}/transfers` (admin): move available units between two locations of
/// one SKU, all or nothing.
#[utoipa::path(post, path = "/v1/skus/{sku}/transfers", tag = "admin",
    params(super::api::SkuPath, super::api::IdempotencyKeyHeader), request_body = super::api::TransferRequest,
    responses((status = 200, description = "The stock after the transfer", body = crate::ops::Stock),
        super::api::StockroomRefusals),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn transfer(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<TransferRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    let command = NewTransfer::try_from(body.get())?;
    once::respond(&state, idem, &format!("transfer:{sku}"), &command, || async {
        let NewTransfer { from, to, quantity } = &command;
        let stock = ops::transfer(&state.store, &sku, from, to, *quantity).await?;
        Ok(once::json(StatusCode::OK, &stock))
    })
    .await
}
