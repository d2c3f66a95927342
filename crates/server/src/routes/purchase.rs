use super::api::{NewPurchase, PurchaseRequest};
use super::auth::Checkout;
use super::extract::{AdmissionHeader, AppState, IdempotencyHeader, JsonBody, StrategyParam};
use super::observe::RequestSpan;
use crate::error::Error;
use crate::ops;
use actix_web::{HttpResponse, web};

/// `POST /v1/purchases`: buy one SKU.
#[utoipa::path(post, path = "/v1/purchases", tag = "checkout",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(super::api::StrategyQuery, super::api::IdempotencyKeyHeader, super::api::AdmissionParam), request_body = super::api::PurchaseRequest, responses((status = 201, description = "Bought", body = crate::ops::Purchase,
            links(("order" = (operation_id = "get_order", parameters(("id" = "$response.body#/order_id")))))),
        super::api::TakeRefusals)
)]
#[tracing::instrument(level = "debug", skip_all, fields(strategy = %strategy.0, sku))]
pub(super) async fn purchase(
    _: Checkout,
    strategy: StrategyParam,
    state: web::Data<AppState>,
    idem: IdempotencyHeader,
    admission: AdmissionHeader,
    body: JsonBody<PurchaseRequest>,
    span: RequestSpan,
) -> Result<HttpResponse, Error> {
    let command = NewPurchase::try_from(body.get())?;
    let idem = idem.for_command(&[strategy.0.as_str()], &command);
    let NewPurchase {
        sku,
        quantity,
        user,
        location,
    } = command;
    note!("sku", sku.as_str());
    // Boxed: the take's future is kilobytes, and inline it would be copied with this
    // handler's future wherever actix moves that.
    let done = Box::pin(ops::purchase_from(
        &state.store_for(&admission, &user),
        strategy.0,
        &sku,
        quantity,
        location.as_ref(),
        &user,
        idem.as_ref(),
    ))
    .await?;
    span.took(strategy.0, done.effort.attempts);
    Ok(super::reply::created(&done))
}
