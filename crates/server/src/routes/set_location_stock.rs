use super::api::{NewLocationStock, SetLocationStockRequest};
use super::auth::Admin;
use super::extract::{AppState, IdempotencyHeader, JsonBody, path_param, path_sku};
use super::once;
use crate::domain::{Location, Sku};
use crate::error::Error;
use crate::ops;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `PUT /v1/skus/{sku}/locations/{location}/stock` (admin): set `available` at one
/// location (and its priority), creating the SKU and the location if needed.
#[utoipa::path(put, path = "/v1/skus/{sku}/locations/{location}/stock", tag = "admin",
    params(super::api::LocationPath, super::api::IdempotencyKeyHeader), request_body = super::api::SetLocationStockRequest,
    responses((status = 200, description = "The stock, with its locations", body = crate::ops::Stock),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::TooLarge,
        super::api::KeyReused,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku, location))]
pub(super) async fn set_location_stock(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SetLocationStockRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let (sku, location) = sku_and_location(&req)?;
    let command = NewLocationStock::try_from(body.get())?;
    once::respond(
        &state,
        idem,
        &format!("set_location_stock:{sku}:{location}"),
        &command,
        || async {
            let NewLocationStock {
                available,
                priority,
                safety_stock,
            } = command;
            let stock =
                ops::set_location_stock(&state.store, &sku, &location, available, priority, safety_stock).await?;
            Ok(once::json(StatusCode::OK, &stock))
        },
    )
    .await
}

/// The `{sku}` and `{location}` of the path, recorded on the span; 400 naming the one
/// that is not valid.
pub(super) fn sku_and_location(req: &HttpRequest) -> Result<(Sku, Location), Error> {
    let sku = path_sku(req)?;
    let location = Location::parse(&path_param(req, "location"), "path location")?;
    note!("sku", sku.as_str());
    note!("location", location.as_str());
    Ok((sku, location))
}
