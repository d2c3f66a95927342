//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the response types themselves, served at `/openapi.json` with Swagger UI at `/docs`.
//!
//! Handlers parse bodies field by field (so that a 400 can name the field), so the request
//! bodies are described here; their bounds mirror the domain types' `parse` functions.

use crate::error::ErrorBody;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::openapi::RefOr;
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

/// `POST /v1/purchases`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseRequest {
    /// The SKU to buy.
    #[schema(value_type = crate::domain::Sku)]
    pub sku: String,
    /// Units to buy.
    #[schema(minimum = 1, maximum = 1_000_000, example = 1)]
    pub quantity: u32,
    /// Who buys: 1-128 characters, no control characters.
    #[schema(value_type = crate::domain::UserId)]
    pub user_id: String,
}

/// One line of a cart.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CartLine {
    /// The SKU; each may appear once per cart.
    #[schema(value_type = crate::domain::Sku)]
    pub sku: String,
    /// Units.
    #[schema(minimum = 1, maximum = 1_000_000, example = 1)]
    pub quantity: u32,
}

/// `POST /v1/checkouts`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    /// Who buys.
    #[schema(value_type = crate::domain::UserId)]
    pub user_id: String,
    /// 1-100 lines, each SKU once.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<CartLine>,
}

/// `POST /v1/reservations`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReserveRequest {
    /// Who holds.
    #[schema(value_type = crate::domain::UserId)]
    pub user_id: String,
    /// 1-100 lines, each SKU once.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<CartLine>,
    /// How long the hold lasts, seconds (default 600).
    #[schema(minimum = 1, maximum = 86_400, example = 600)]
    pub ttl_seconds: Option<u32>,
}

/// `POST /v1/reservations/{id}/extend`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExtendRequest {
    /// The hold now lapses this many seconds from now.
    #[schema(minimum = 1, maximum = 86_400, example = 600)]
    pub ttl_seconds: u32,
}

/// `PUT /v1/skus/{sku}/stock`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetStockRequest {
    /// The new `available`.
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 100)]
    pub available: u32,
}

/// `POST /v1/skus/{sku}/restock`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RestockRequest {
    /// Units to add to `available`.
    #[schema(minimum = 1, maximum = 1_000_000, example = 10)]
    pub quantity: u32,
}

/// `POST /v1/demo/rush`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RushRequest {
    /// The SKU to rush; its stock is set to `stock` first.
    #[schema(value_type = crate::domain::Sku)]
    pub sku: String,
    /// Buyers launched at once, each buying one unit.
    #[schema(minimum = 1, maximum = 5000, example = 500)]
    pub buyers: u32,
    /// Units in stock before the rush.
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 100)]
    pub stock: u32,
    /// How every buyer buys (default watch).
    #[schema(value_type = Option<crate::domain::Strategy>)]
    pub strategy: Option<String>,
    /// Group commit for `watch` buyers (default: the server's `--batching`).
    pub batching: Option<bool>,
}

/// `?strategy=` of the stock-moving endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StrategyQuery {
    /// watch (default), lua or broken (only with --allow-broken).
    #[param(value_type = Option<crate::domain::Strategy>)]
    pub strategy: Option<String>,
}

/// The `Idempotency-Key` header.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1-128 visible ASCII characters; a repeat with the same body returns the first answer.
    #[serde(rename = "Idempotency-Key")]
    #[param(min_length = 1, max_length = 128, pattern = r"^[!-~]{1,128}$")]
    pub idempotency_key: Option<String>,
}

/// Declares one error response: its status, its description, and the error body.
macro_rules! error_response {
    ($name:ident, $status:literal, $description:literal) => {
        #[doc = $description]
        #[derive(IntoResponses)]
        #[response(status = $status, description = $description)]
        pub struct $name(pub ErrorBody);
    };
}

error_response!(
    InvalidRequest,
    400,
    "Invalid request: the message names the field (`invalid_request`)"
);
error_response!(Unauthorized, 401, "Admin token missing (`unauthorized`)");
error_response!(Forbidden, 403, "Wrong admin token (`forbidden`)");
error_response!(
    BrokenDisabled,
    403,
    "`strategy=broken` on a server without --allow-broken (`broken_disabled`)"
);
error_response!(UnknownSku, 404, "No such SKU (`unknown_sku`, with `sku`)");
error_response!(UnknownReservation, 404, "No such reservation (`unknown_reservation`)");
error_response!(UnknownOrder, 404, "No such order (`unknown_order`)");
error_response!(
    InsufficientStock,
    409,
    "Not enough stock; nothing was taken (`insufficient_stock`, listing every short line in `items`)"
);
error_response!(
    NotActive,
    409,
    "The reservation is confirmed, cancelled or expired (`reservation_not_active`, with `status`)"
);
error_response!(TooLarge, 413, "Body over 64 KiB (`payload_too_large`)");
error_response!(
    KeyReused,
    422,
    "Idempotency-Key reused with a different request (`idempotency_key_reused`)"
);
error_response!(
    Unavailable,
    503,
    "Redis unavailable or out of memory (`redis_unavailable`, `redis_out_of_memory`), or retries exhausted (`contention`, with a Retry-After header)"
);

/// Several error responses as one, so that endpoints refusing alike list them once.
macro_rules! error_responses {
    ($(#[$doc:meta])* $name:ident = $($part:ident),+) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                let mut all = BTreeMap::new();
                $(all.append(&mut <$part as IntoResponses>::responses());)+
                all
            }
        }
    };
}

error_responses!(
    /// How a purchase, checkout or reservation can be refused.
    TakeRefusals = InvalidRequest, BrokenDisabled, UnknownSku, InsufficientStock, TooLarge, KeyReused, Unavailable
);
error_responses!(
    /// How a change to a reservation (confirm, cancel) can be refused.
    HoldRefusals = InvalidRequest, UnknownReservation, NotActive, KeyReused, Unavailable
);

/// The `{id}` of a reservation path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReservationPath {
    /// Reservation id (UUIDv7)
    pub id: String,
}

/// Declares the admin bearer token.
struct AdminTokenScheme;

impl Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "stockwatch",
        description = "Inventory and checkout on Redis that never oversells. Every error is \
            `{\"error\": \"<code>\", \"message\": \"...\"}` with the extra fields listed per code.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::metrics::metrics,
        super::events::events,
        super::set_stock::set_stock,
        super::restock::restock,
        super::get_stock::get_stock,
        super::movements::movements,
        super::purchase::purchase,
        super::checkout::checkout,
        super::get_order::get_order,
        super::reserve::reserve,
        super::get_reservation::get_reservation,
        super::confirm::confirm,
        super::cancel::cancel,
        super::extend::extend,
        super::rush::rush,
    ),
    components(schemas(crate::events::StockEvent, crate::domain::Strategy)),
    modifiers(&AdminTokenScheme),
    tags(
        (name = "stock", description = "Reading stock and its movements"),
        (name = "admin", description = "Setting stock (bearer token when the server has one)"),
        (name = "checkout", description = "Purchases, carts and orders"),
        (name = "reservations", description = "Timed holds: reserve, then confirm, cancel or let lapse"),
        (name = "ops", description = "Health, readiness, metrics and the live event stream"),
        (name = "demo", description = "Teaching: the dashboard at / and its rush (not part of the v1 contract)"),
    )
)]
pub struct ApiDoc;

/// The document, built once per server (it does not change at run time).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
