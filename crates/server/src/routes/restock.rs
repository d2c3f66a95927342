use super::api::{NewRestock, RestockRequest};
use super::auth::Admin;
use super::extract::{AppState, IdempotencyHeader, JsonBody, path_sku};
use super::once;
use crate::error::Error;
use crate::ops;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/skus/{sku}/restock` (admin): add to `available` of an existing SKU.
#[utoipa::path(post, path = "/v1/skus/{sku}/restock", tag = "admin",
    params(super::api::SkuPath, super::api::IdempotencyKeyHeader), request_body = super::api::RestockRequest, responses((status = 200, description = "The stock, with `quantity` added", body = crate::ops::Stock),
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
pub(super) async fn restock(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<RestockRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    let command = NewRestock::try_from(body.get())?;
    once::respond(&state, idem, &format!("restock:{sku}"), &command, || async {
        let NewRestock { quantity, location } = &command;
        let stock = ops::restock(&state.store, &sku, *quantity, location.as_ref()).await?;
        Ok(once::json(StatusCode::OK, &stock))
    })
    .await
}
