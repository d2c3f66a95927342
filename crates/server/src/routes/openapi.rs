//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the response types themselves, served at `/openapi.json` with Swagger UI at `/docs`.
//!
//! Request bodies, parameters and refusals come from [`super::api`], the same types the
//! handlers use; this file only gathers them.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Declares the two bearer credentials: the operator's admin token and client API keys.
struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "admin_token",
            bearer("The server's --admin-token: allowed on every endpoint."),
        );
        components.add_security_scheme(
            "api_key",
            bearer(
                "A client key (`swk_...`, made by `stockwatch keys create --scope ...`). Its scopes, \
                 listed per operation: `checkout`, `read`, or `admin` (which allows everything).",
            ),
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
        super::sale::set_sale,
        super::sale::get_sale,
        super::queue::join,
        super::queue::ticket,
        super::queue::room,
        super::webhooks::create,
        super::webhooks::list,
        super::webhooks::delete,
        super::webhooks::dead_letters,
        super::webhooks::replay,
        super::webhooks::delete_dead_letter,
        super::list_skus::list_skus,
        super::get_stock::get_stock,
        super::retire::retire,
        super::movements::movements,
        super::scans::record,
        super::import::import,
        super::purchase::purchase,
        super::checkout::checkout,
        super::get_order::get_order,
        super::cancel_order::cancel_order,
        super::returns::return_order,
        super::incoming::expect,
        super::incoming::receive,
        super::incoming::purchase_orders,
        super::incoming::set_preorders,
        super::reserve::reserve,
        super::get_reservation::get_reservation,
        super::confirm::confirm,
        super::cancel::cancel,
        super::extend::extend,
        super::rush::rush,
        super::rush::bots,
        super::replay::replay,
    ),
    components(schemas(crate::events::StockEvent, crate::domain::Strategy, crate::ops::alerts::Alert)),
    modifiers(&BearerSchemes),
    tags(
        (name = "stock", description = "Reading stock and its movements"),
        (name = "admin", description = "Setting stock (the admin token or an `admin` key, when the server has either)"),
        (name = "alerts", description = "Low-stock, out-of-stock, back-in-stock, reorder and contention alerts, and the webhooks that deliver them"),
        (name = "drops", description = "Sale settings: a start and end on Redis's clock, and limits per customer"),
        (name = "checkout", description = "Purchases, carts and orders"),
        (name = "reservations", description = "Timed holds: reserve, then confirm, cancel or let lapse"),
        (name = "ops", description = "Health, readiness, metrics and the live event stream"),
        (name = "demo", description = "Teaching: the dashboard at /, its rush and its step-through replay (not part of the v1 contract)"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The document, built once per server (it does not change at run time). On a server
/// with `--require-keys`, no operation but the probes may be called without a credential,
/// so the anonymous option (`{}`) is dropped from every operation's `security`.
pub fn document(require_keys: bool) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    if require_keys {
        let anonymous = SecurityRequirement::default();
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.head,
            ];
            for operation in operations.into_iter().flatten() {
                if let Some(security) = &mut operation.security {
                    security.retain(|s| *s != anonymous);
                }
            }
        }
    }
    doc
}
