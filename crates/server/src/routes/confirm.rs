use super::auth::Checkout;
use super::extract::{AppState, IdempotencyHeader, NoBody, reservation_id};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/reservations/{id}/confirm`: sell what the hold holds.
#[utoipa::path(post, path = "/v1/reservations/{id}/confirm", tag = "reservations",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::ReservationPath, super::api::IdempotencyKeyHeader), responses((status = 201, description = "Sold: the order", body = crate::ops::Confirmed,
            links(("order" = (operation_id = "get_order", parameters(("id" = "$response.body#/order_id")))))),
        super::api::HoldRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(reservation_id))]
pub(super) async fn confirm(
    _: Checkout,
    req: HttpRequest,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    _: NoBody,
) -> Result<HttpResponse, Error> {
    let id = reservation_id(&req)?;
    note!("reservation_id", tracing::field::display(&id));
    let idem = idem.for_request(&[]);
    Ok(HttpResponse::Created().json(ops::confirm(&state.store, &id, idem.as_ref()).await?))
}
