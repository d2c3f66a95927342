//! The alert endpoints: a SKU's rules, recent alerts, and what is low now.

use super::api::AlertRulesRequest;
use super::auth::Admin;
use super::auth::Reader;
use super::extract::{AppState, IdempotencyHeader, JsonBody, path_sku, query_param};
use super::once;
use crate::domain::{Limit, Location, Sku};
use crate::error::Error;
use crate::ops::alerts;
use crate::ops::level::Rules;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

fn sku_of(req: &HttpRequest) -> Result<Sku, Error> {
    let sku = path_sku(req)?;
    note!("sku", sku.as_str());
    Ok(sku)
}

/// `PUT /v1/skus/{sku}/alerts` (admin): set a SKU's alert rules.
#[utoipa::path(put, path = "/v1/skus/{sku}/alerts", tag = "alerts",
    params(super::api::SkuPath, super::api::IdempotencyKeyHeader), request_body = super::api::AlertRulesRequest,
    responses((status = 200, description = "The rules now in force", body = crate::ops::alerts::AlertRules),
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
pub(super) async fn set_rules(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<AlertRulesRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = sku_of(&req)?;
    let rules = Rules::try_from(body.get())?;
    once::respond(&state, idem, &format!("alert_rules:{sku}"), &rules, || async {
        Ok(once::json(
            StatusCode::OK,
            &alerts::set_rules(&state.store, &sku, rules).await?,
        ))
    })
    .await
}

/// `GET /v1/skus/{sku}/alerts`: a SKU's alert rules.
#[utoipa::path(get, path = "/v1/skus/{sku}/alerts", tag = "alerts",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(super::api::SkuPath),
    responses((status = 200, description = "The SKU's rules (`low_stock_threshold` null: none)", body = crate::ops::alerts::AlertRules),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::InvalidRequest,
        super::api::UnknownSku,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn get_rules(_: Reader, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let sku = sku_of(&req)?;
    Ok(HttpResponse::Ok().json(alerts::get_rules(&state.store, &sku).await?))
}

/// `GET /v1/alerts?sku=&limit=`: recent alerts, newest first.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(("sku" = Option<crate::domain::Sku>, Query, description = "Only this SKU's"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Newest n, default 100")),
    responses((status = 200, description = "Recent alerts, newest first", body = crate::ops::alerts::AlertList),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::InvalidRequest,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn list(_: Reader, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let sku = query_param(&req, "sku")?
        .map(|s| Sku::parse(&s).map_err(|e| crate::domain::InvalidInput::new(format!("query {e}"))))
        .transpose()?;
    let limit = Limit::parse(query_param(&req, "limit")?.as_deref())?;
    Ok(HttpResponse::Ok().json(alerts::list_alerts(&state.store, sku.as_ref(), limit).await?))
}

/// `GET /v1/alerts/low-stock?location=&limit=`: SKUs now below their threshold, lowest first.
#[utoipa::path(get, path = "/v1/alerts/low-stock", tag = "alerts",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(("location" = Option<crate::domain::Location>, Query, description = "Compare this location's `available` instead of the total"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "The lowest n; all without")),
    responses((status = 200, description = "SKUs below their low-stock threshold, lowest first", body = crate::ops::alerts::LowStockList),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::InvalidRequest,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn low_stock(_: Reader, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let location = query_param(&req, "location")?
        .map(|l| Location::parse(&l, "query location"))
        .transpose()?;
    let limit = query_param(&req, "limit")?
        .map(|l| Limit::parse(Some(&l)))
        .transpose()?;
    Ok(HttpResponse::Ok().json(alerts::low_stock(&state.store, location.as_ref(), limit).await?))
}
