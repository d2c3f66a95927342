use super::api::{CancelOrderRequest, NewCancel};
use super::auth::Checkout;
use super::body::OptionalBody;
use super::extract::{AppState, IdempotencyHeader, order_id};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/orders/{id}/cancel`: every unit of the order back where it was sold from.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "checkout",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(("id" = String, Path, description = "Order id (UUIDv7)"), super::api::IdempotencyKeyHeader),
    request_body(content = super::api::CancelOrderRequest, description = "Optional: where the units go"),
    responses((status = 200, description = "Cancelled; the order, now `cancelled`", body = crate::ops::Order),
        super::api::OrderRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(order_id))]
pub(super) async fn cancel_order(
    _: Checkout,
    req: HttpRequest,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    body: OptionalBody<CancelOrderRequest>,
) -> Result<HttpResponse, Error> {
    let command = NewCancel::try_from(body.get())?;
    let id = order_id(&req)?;
    note!("order_id", tracing::field::display(&id));
    let idem = idem.for_command(&[], &command);
    let order = ops::cancel_order(&state.store, &id, command.disposition, idem.as_ref()).await?;
    Ok(HttpResponse::Ok().json(order))
}
