use super::observe::RequestSpan;
use super::{AppState, IdempotencyHeader, JsonBody, StrategyParam};
use crate::domain::{CartItems, UserId};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpResponse, web};

/// `POST /v1/checkouts`: buy a whole cart, all or nothing.
#[utoipa::path(post, path = "/v1/checkouts", tag = "checkout",
    params(super::openapi::StrategyQuery, super::openapi::IdempotencyKeyHeader), request_body = super::openapi::CheckoutRequest, responses((status = 201, description = "The whole cart bought", body = crate::ops::Checkout,
            links(("order" = (operation_id = "get_order", parameters(("id" = "$response.body#/order_id")))))),
        super::openapi::TakeRefusals)
)]
#[tracing::instrument(skip_all, fields(strategy = %strategy.0, lines))]
pub async fn checkout(
    strategy: StrategyParam,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    body: JsonBody,
    span: RequestSpan,
) -> Result<HttpResponse, Error> {
    let user = UserId::parse(body.required("user_id")?)?;
    let items = CartItems::parse(body.get("items"))?;
    tracing::Span::current().record("lines", items.lines().len());
    let idem = idem.for_request(&[strategy.0.as_str(), &body.canonical()]);
    let done = ops::checkout(&state.store, strategy.0, &items, &user, idem.as_ref()).await?;
    span.took(strategy.0, done.effort.attempts);
    Ok(HttpResponse::Created().json(done))
}
