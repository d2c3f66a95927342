use super::auth::Reader;
use super::extract::{AppState, query_param};
use crate::domain::{Limit, Sku, SkuPrefix};
use crate::error::Error;
use crate::ops::catalog;
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /v1/skus?limit=&after=&prefix=`: the catalog, a page at a time, in name order.
#[utoipa::path(get, path = "/v1/skus", tag = "stock",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "SKUs per page, default 100"),
        ("after" = Option<crate::domain::Sku>, Query, description = "The page's `next` from before: list names after this one"),
        ("prefix" = Option<String>, Query, min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]{1,64}$",
            description = "Only names that start with this (1-64 of A-Z a-z 0-9 . _ -)"),
    ),
    responses((status = 200, description = "SKUs with their stock, in name order, and the cursor of the next page", body = crate::ops::catalog::Page),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::InvalidRequest,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn list_skus(_: Reader, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let limit = Limit::parse(query_param(&req, "limit")?.as_deref())?;
    let after = query_param(&req, "after")?
        .map(|a| Sku::parse(&a).map_err(|_| crate::domain::InvalidInput::new("after must be a SKU")))
        .transpose()?;
    let prefix = query_param(&req, "prefix")?.map(|p| SkuPrefix::parse(&p)).transpose()?;
    let page = catalog::list(&state.store, after.as_ref(), prefix.as_ref(), limit).await?;
    Ok(HttpResponse::Ok().json(page))
}
