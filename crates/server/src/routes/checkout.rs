use super::api::{CheckoutRequest, NewCart};
use super::auth::Checkout;
use super::extract::{AdmissionHeader, AppState, IdempotencyHeader, JsonBody, StrategyParam};
use super::observe::RequestSpan;
use crate::error::Error;
use crate::ops;
use actix_web::{HttpResponse, web};

/// `POST /v1/checkouts`: buy a whole cart, all or nothing.
#[utoipa::path(post, path = "/v1/checkouts", tag = "checkout",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::StrategyQuery, super::api::IdempotencyKeyHeader, super::api::AdmissionParam), request_body = super::api::CheckoutRequest, responses((status = 201, description = "The whole cart bought", body = crate::ops::Checkout,
            links(("order" = (operation_id = "get_order", parameters(("id" = "$response.body#/order_id")))))),
        super::api::TakeRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(strategy = %strategy.0, lines))]
pub(super) async fn checkout(
    _: Checkout,
    strategy: StrategyParam,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    admission: AdmissionHeader,
    body: JsonBody<CheckoutRequest>,
    span: RequestSpan,
) -> Result<HttpResponse, Error> {
    let command = NewCart::try_from(body.get())?;
    let idem = idem.for_command(&[strategy.0.as_str()], &command);
    let NewCart { user, items } = command;
    note!("lines", items.lines().len());
    // Boxed: the take's future is kilobytes, and inline it would be copied with this
    // handler's future wherever actix moves that.
    let done = Box::pin(ops::checkout(
        &state.store_for(&admission, &user),
        strategy.0,
        &items,
        &user,
        idem.as_ref(),
    ))
    .await?;
    span.took(strategy.0, done.effort.attempts);
    Ok(super::reply::created(&done))
}
