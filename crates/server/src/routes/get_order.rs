use super::auth::Checkout;
use super::extract::{AppState, order_id};
use crate::error::Error;
use crate::ops;
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /v1/orders/{id}`. An id that is not one of our UUIDv7s is a 404 without a Redis call;
/// with the ledger on, an order that aged out of Redis is read from PostgreSQL.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "checkout",
    security((), ("api_key" = ["checkout"]), ("admin_token" = [])),
    params(("id" = String, Path, description = "Order id (UUIDv7)")), responses((status = 200, description = "The order", body = crate::ops::Order),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::UnknownOrder,
        super::api::Unavailable)
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn get_order(
    _: Checkout,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = order_id(&req)?;
    match (ops::get_order(&state.store, &id).await, &state.books) {
        // Aged out of Redis: the books have it.
        (Err(Error::UnknownOrder), Some(books)) => match crate::ledger::find_order(books, &id).await {
            Ok(Some(order)) => Ok(HttpResponse::Ok().json(order)),
            Ok(None) => Err(Error::UnknownOrder),
            Err(e) => {
                tracing::warn!(error = %e, "ledger read failed");
                Err(Error::LedgerUnavailable)
            }
        },
        (found, _) => Ok(HttpResponse::Ok().json(found?)),
    }
}
