use super::observe::RequestSpan;
use super::{AppState, IdempotencyHeader, JsonBody, StrategyParam};
use crate::domain::{Quantity, Sku, UserId};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpResponse, web};

/// `POST /v1/purchases`: buy one SKU.
#[utoipa::path(post, path = "/v1/purchases", tag = "checkout",
    params(super::openapi::StrategyQuery, super::openapi::IdempotencyKeyHeader), request_body = super::openapi::PurchaseRequest, responses((status = 201, description = "Bought", body = crate::ops::Purchase,
            links(("order" = (operation_id = "get_order", parameters(("id" = "$response.body#/order_id")))))),
        super::openapi::TakeRefusals)
)]
#[tracing::instrument(skip_all, fields(strategy = %strategy.0, sku))]
pub async fn purchase(
    strategy: StrategyParam,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    body: JsonBody,
    span: RequestSpan,
) -> Result<HttpResponse, Error> {
    let sku = Sku::parse(body.required("sku")?.as_str().unwrap_or_default())?;
    let quantity = Quantity::parse(body.required("quantity")?, "quantity")?;
    let user = UserId::parse(body.required("user_id")?)?;
    tracing::Span::current().record("sku", sku.as_str());
    let idem = idem.for_request(&[strategy.0.as_str(), &body.canonical()]);
    let done = ops::purchase(&state.store, strategy.0, &sku, quantity, &user, idem.as_ref()).await?;
    span.took(strategy.0, done.effort.attempts);
    Ok(HttpResponse::Created().json(done))
}
