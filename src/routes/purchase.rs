use super::{AppState, IdempotencyHeader, JsonBody, StrategyParam};
use crate::domain::{Quantity, Sku, UserId};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpResponse, web};

/// `POST /v1/purchases`: buy one SKU.
#[tracing::instrument(skip_all, fields(strategy = %strategy.0, sku, attempts))]
pub async fn purchase(
    strategy: StrategyParam,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let sku = Sku::parse(body.required("sku")?.as_str().unwrap_or_default())?;
    let quantity = Quantity::parse(body.required("quantity")?, "quantity")?;
    let user = UserId::parse(body.required("user_id")?)?;
    tracing::Span::current().record("sku", sku.as_str());
    let idem = idem.for_request(&[strategy.0.as_str(), &body.canonical()]);
    let done = ops::purchase(&state.store, strategy.0, &sku, quantity, &user, idem.as_ref()).await?;
    tracing::Span::current().record("attempts", done.effort.attempts);
    Ok(HttpResponse::Created().json(done))
}
