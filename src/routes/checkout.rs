use super::{AppState, IdempotencyHeader, JsonBody, StrategyParam};
use crate::domain::{CartItems, UserId};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpResponse, web};

/// `POST /v1/checkouts`: buy a whole cart, all or nothing.
#[tracing::instrument(skip_all, fields(strategy = %strategy.0, lines, attempts))]
pub async fn checkout(
    strategy: StrategyParam,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let user = UserId::parse(body.required("user_id")?)?;
    let items = CartItems::parse(body.get("items"))?;
    tracing::Span::current().record("lines", items.lines().len());
    let idem = idem.for_request(&[strategy.0.as_str(), &body.canonical()]);
    let done = ops::checkout(&state.store, strategy.0, &items, &user, idem.as_ref()).await?;
    tracing::Span::current().record("attempts", done.effort.attempts);
    Ok(HttpResponse::Created().json(done))
}
