//! A SKU's waiting room: join for a ticket, then read it until it is admitted, and send
//! the admission it carries as the `Admission` header of the take.

use super::api::QueueRequest;
use super::auth::{Checkout, Reader};
use super::extract::{AppState, JsonBody, path_param, path_sku};
use crate::domain::{Sku, Ticket, UserId};
use crate::error::Error;
use crate::ops::queue::{self, TicketState, TicketStatus};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

/// A ticket as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TicketView {
    /// The ticket (32 hex digits): keep it to ask again.
    #[schema(value_type = String)]
    ticket: Ticket,
    /// `waiting`, `admitted`, `expired` or `sold_out`.
    state: TicketState,
    /// While waiting after the opening: 1 for the next one admitted (`null` before the
    /// opening, when early arrivals are not yet shuffled, and once not waiting).
    position: Option<u64>,
    /// While admitted: the token to send as the `Admission` header of the take.
    #[serde(skip_serializing_if = "Option::is_none")]
    admission: Option<String>,
    /// While admitted: when the admission ends (epoch ms, Redis's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

impl TicketView {
    fn of(state: &AppState, sku: &Sku, status: TicketStatus) -> Self {
        let admission = status.expires_at.map(|until| {
            state.store.metrics().drops.admissions.inc();
            state.admission.sign(sku, &status.user, until)
        });
        Self {
            ticket: status.ticket,
            state: status.state,
            position: status.position,
            admission,
            expires_at: status.expires_at,
        }
    }
}

/// `POST /v1/skus/{sku}/queue`: join a SKU's waiting room.
#[utoipa::path(post, path = "/v1/skus/{sku}/queue", tag = "drops",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::SkuPath), request_body = super::api::QueueRequest,
    responses((status = 201, description = "A new ticket", body = TicketView),
        (status = 200, description = "The customer's ticket from before", body = TicketView),
        super::api::JoinRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn join(
    _: Checkout,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<QueueRequest>,
) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    let user = UserId::parse(body.get().user_id.required("user_id")?)?;
    let status = queue::join(&state.store, &sku, &user).await?;
    let mut answer = match status.new {
        true => HttpResponse::Created(),
        false => HttpResponse::Ok(),
    };
    Ok(answer.json(TicketView::of(&state, &sku, status)))
}

/// `GET /v1/skus/{sku}/queue/{ticket}`: where a ticket is.
#[utoipa::path(get, path = "/v1/skus/{sku}/queue/{ticket}", tag = "drops",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::SkuPath, ("ticket" = String, Path, description = "The ticket `POST …/queue` gave")),
    responses((status = 200, description = "The ticket's state", body = TicketView),
        super::api::TicketRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn ticket(_: Checkout, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    let ticket = Ticket::parse(&path_param(&req, "ticket")).ok_or(Error::UnknownTicket)?;
    let status = queue::status(&state.store, &sku, &ticket).await?;
    Ok(HttpResponse::Ok().json(TicketView::of(&state, &sku, status)))
}

/// `GET /v1/skus/{sku}/queue`: a waiting room at a glance, on Redis's clock.
#[utoipa::path(get, path = "/v1/skus/{sku}/queue", tag = "drops",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    params(super::api::SkuPath),
    responses((status = 200, description = "Tickets, admitted and waiting, and Redis's clock", body = crate::ops::queue::RoomSummary),
        super::api::RoomRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(sku))]
pub(super) async fn room(_: Reader, req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let sku = path_sku(&req)?;
    Ok(HttpResponse::Ok().json(queue::summary(&state.store, &sku).await?))
}
