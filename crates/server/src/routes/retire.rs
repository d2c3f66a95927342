use super::auth::Admin;
use super::extract::{AppState, IdempotencyHeader, NoBody, path_sku};
use super::once;
use crate::error::Error;
use crate::ops;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `DELETE /v1/skus/{sku}` (admin): retire a SKU. Its levels, locations, rules and
/// movements go; its orders stay readable and `verify` stays exact.
#[utoipa::path(delete, path = "/v1/skus/{sku}", tag = "admin",
    params(super::api::SkuPath, super::api::IdempotencyKeyHeader),
    responses((status = 200, description = "Retired: the units written off and those its orders hold", body = crate::ops::Retired),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::UnknownSku,
        super::api::SkuInUse,
        super::api::KeyReused,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn retire(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    _: NoBody,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    once::respond(&state, idem, &format!("retire:{sku}"), &(), || async {
        Ok(once::json(StatusCode::OK, &ops::retire(&state.store, &sku).await?))
    })
    .await
}
