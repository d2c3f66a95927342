use super::api::{NewLocationStock, SetLocationStockRequest};
use super::extract::{Admin, AppState, JsonBody, path_param, path_sku};
use crate::domain::{Location, Sku};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `PUT /v1/skus/{sku}/locations/{location}/stock` (admin): set `available` at one
/// location (and its priority), creating the SKU and the location if needed.
#[utoipa::path(put, path = "/v1/skus/{sku}/locations/{location}/stock", tag = "admin",
    params(super::api::LocationPath), request_body = super::api::SetLocationStockRequest,
    responses((status = 200, description = "The stock, with its locations", body = crate::ops::Stock),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::TooLarge,
        super::api::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku, location))]
pub async fn set_location_stock(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SetLocationStockRequest>,
) -> Result<HttpResponse, Error> {
    let (sku, location) = sku_and_location(&req)?;
    let NewLocationStock { available, priority } = body.get().try_into()?;
    let stock = ops::set_location_stock(&state.store, &sku, &location, available, priority).await?;
    Ok(HttpResponse::Ok().json(stock))
}

/// The `{sku}` and `{location}` of the path, recorded on the span; 400 naming the one
/// that is not valid.
pub(super) fn sku_and_location(req: &HttpRequest) -> Result<(Sku, Location), Error> {
    let sku = path_sku(req)?;
    let location = Location::parse(&path_param(req, "location"), "path location")?;
    tracing::Span::current().record("sku", sku.as_str());
    tracing::Span::current().record("location", location.as_str());
    Ok((sku, location))
}
