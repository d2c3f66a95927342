//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the response types themselves, served at `/openapi.json` with Swagger UI at `/docs`.
//!
//! Request bodies, parameters and refusals come from [`super::api`], the same types the
//! handlers use; this file only gathers them.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
        super::set_location_stock::set_location_stock,
        super::transfer::transfer,
        super::adjust::adjust,
        super::alerts::set_rules,
        super::alerts::get_rules,
        super::alerts::list,
        super::alerts::low_stock,
        super::webhooks::create,
        super::webhooks::list,
        super::webhooks::delete,
        super::webhooks::dead_letters,
        super::webhooks::replay,
        super::webhooks::delete_dead_letter,
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
        super::replay::replay,
    ),
    components(schemas(crate::events::StockEvent, crate::domain::Strategy, crate::ops::alerts::Alert)),
    modifiers(&AdminTokenScheme),
    tags(
        (name = "stock", description = "Reading stock and its movements"),
        (name = "admin", description = "Setting stock (bearer token when the server has one)"),
        (name = "alerts", description = "Low-stock, out-of-stock, back-in-stock, reorder and contention alerts, and the webhooks that deliver them"),
        (name = "checkout", description = "Purchases, carts and orders"),
        (name = "reservations", description = "Timed holds: reserve, then confirm, cancel or let lapse"),
        (name = "ops", description = "Health, readiness, metrics and the live event stream"),
        (name = "demo", description = "Teaching: the dashboard at /, its rush and its step-through replay (not part of the v1 contract)"),
    )
)]
pub struct ApiDoc;

/// The document, built once per server (it does not change at run time).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
