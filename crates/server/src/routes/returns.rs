use super::api::{NewReturn, ReturnRequest};
use super::auth::Admin;
use super::extract::{AppState, IdempotencyHeader, JsonBody, order_id};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /v1/orders/{id}/returns` (admin): units of an order come back.
#[utoipa::path(post, path = "/v1/orders/{id}/returns", tag = "admin",
    params(("id" = String, Path, description = "Order id (UUIDv7)"), super::api::IdempotencyKeyHeader),
    request_body = super::api::ReturnRequest,
    responses((status = 201, description = "The return: what came back and where it went", body = crate::ops::Returned),
        super::api::OrderRefusals),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(order_id))]
pub(super) async fn return_order(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<ReturnRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let command = NewReturn::try_from(body.get())?;
    let id = order_id(&req)?;
    note!("order_id", tracing::field::display(&id));
    let idem = idem.for_command(&[], &command);
    let returned = ops::return_order(&state.store, &id, &command.lines, idem.as_ref()).await?;
    Ok(HttpResponse::Created().json(returned))
}
