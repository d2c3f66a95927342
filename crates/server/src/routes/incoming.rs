//! Purchase orders: stock on its way (v1.5).

use super::api::{ExpectRequest, NewPreorders, NewPurchaseOrder, NewReceipt, PreordersRequest, ReceiveRequest};
use super::auth::{Admin, Reader};
use super::body::OptionalBody;
use super::extract::{AppState, IdempotencyHeader, JsonBody, path_param, path_sku};
use super::once;
use crate::domain::PoRef;
use crate::error::Error;
use crate::ops;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/skus/{sku}/incoming` (admin): a purchase order, units on their way.
#[utoipa::path(post, path = "/v1/skus/{sku}/incoming", tag = "admin",
    params(super::api::SkuPath, super::api::IdempotencyKeyHeader), request_body = super::api::ExpectRequest,
    responses((status = 201, description = "The purchase order and the stock, its units `incoming`", body = crate::ops::Incoming),
        super::api::IncomingRefusals),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn expect(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<ExpectRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    let command = NewPurchaseOrder::try_from(body.get())?;
    once::respond(&state, idem, &format!("expect:{sku}"), &command, || async {
        let NewPurchaseOrder {
            reference,
            quantity,
            expected_at,
            location,
        } = &command;
        let made = ops::expect(&state.store, &sku, reference, *quantity, *expected_at, location).await?;
        Ok(once::json(StatusCode::CREATED, &made))
    })
    .await
}

/// `POST /v1/skus/{sku}/incoming/{ref}/receive` (admin): units of a purchase order arrived.
#[utoipa::path(post, path = "/v1/skus/{sku}/incoming/{ref}/receive", tag = "admin",
    params(super::api::SkuPath, ("ref" = PoRef, Path, description = "The purchase order's reference"), super::api::IdempotencyKeyHeader),
    request_body(content = super::api::ReceiveRequest, description = "Optional: how many arrived (default: the rest)"),
    responses((status = 200, description = "The purchase order and the stock: the units moved from `incoming` to `available`", body = crate::ops::Incoming),
        super::api::IncomingRefusals),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn receive(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OptionalBody<ReceiveRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    let command = NewReceipt::try_from(body.get())?;
    let reference = PoRef::parse(&path_param(&req, "ref"), "ref")?;
    once::respond(
        &state,
        idem,
        &format!("receive:{sku}:{reference}"),
        &command,
        || async {
            let got = ops::receive(&state.store, &sku, &reference, command.quantity).await?;
            Ok(once::json(StatusCode::OK, &got))
        },
    )
    .await
}

/// `GET /v1/skus/{sku}/incoming`: the SKU's purchase orders.
#[utoipa::path(get, path = "/v1/skus/{sku}/incoming", tag = "stock",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(super::api::SkuPath), responses((status = 200, description = "Its purchase orders, soonest expected first", body = crate::ops::PurchaseOrders),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::InvalidRequest,
        super::api::UnknownSku,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn purchase_orders(
    _: Reader,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    Ok(HttpResponse::Ok().json(ops::purchase_orders(&state.store, &sku).await?))
}

/// `PUT /v1/skus/{sku}/preorders` (admin): whether the SKU sells against incoming stock.
#[utoipa::path(put, path = "/v1/skus/{sku}/preorders", tag = "admin",
    params(super::api::SkuPath, super::api::IdempotencyKeyHeader), request_body = super::api::PreordersRequest,
    responses((status = 200, description = "The settings now in force, with the units incoming and preordered", body = crate::ops::PreorderSettings),
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
pub(super) async fn set_preorders(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<PreordersRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    note!("sku", sku.as_str());
    let NewPreorders(preorders) = NewPreorders::try_from(body.get())?;
    once::respond(&state, idem, &format!("preorders:{sku}"), &preorders, || async {
        Ok(once::json(
            StatusCode::OK,
            &ops::set_preorders(&state.store, &sku, preorders).await?,
        ))
    })
    .await
}
