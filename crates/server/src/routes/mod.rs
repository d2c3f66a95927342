//! HTTP handlers, one file each; this file only wires them. Handlers are thin: take
//! checked input from [`extract`] (bodies are [`api`] types), call one operation, shape the
//! JSON. [`openapi`] lists the handlers; handlers never import it back.

/// Records a field on the handler's own span (its `#[tracing::instrument(level = "debug")]`),
/// only when debug spans are on: at `info` the current span is the request's, which has no
/// such field, and finding it would be paid on every request for nothing.
macro_rules! note {
    ($field:literal, $value:expr) => {
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::Span::current().record($field, $value);
        }
    };
}

mod adjust;
mod alerts;
pub mod api;
mod auth;
mod body;
mod cancel;
mod cancel_order;
mod checkout;
mod confirm;
mod dashboard;
mod events;
mod extend;
pub mod extract;
mod get_order;
mod get_reservation;
mod get_stock;
mod health;
mod import;
mod incoming;
mod list_skus;
mod metrics;
mod movements;
pub mod observe;
mod once;
pub mod openapi;
mod purchase;
mod queue;
mod replay;
mod reply;
mod reserve;
mod restock;
mod retire;
mod returns;
mod rush;
mod sale;
mod scans;
mod set_location_stock;
mod set_stock;
mod transfer;
mod webhooks;

pub use extract::{AppState, BODY_LIMIT};

use crate::error::Error;
use actix_web::web;

/// Wires every route; unknown paths and methods get JSON errors too. With `require_keys`,
/// the published document says so (see [`openapi::document`]).
pub fn configure(require_keys: bool) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| wire(cfg, require_keys)
}

fn wire(cfg: &mut web::ServiceConfig, require_keys: bool) {
    // No online validator badge: the page must work with no network at all.
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
        .url("/openapi.json", openapi::document(require_keys))
        .config(
            utoipa_swagger_ui::Config::default()
                .validator_url("none")
                .try_it_out_enabled(true),
        );
    // The takes first: routes are tried in order, and a pattern with a parameter (the
    // documents' catch-all above all) costs a regex match on every request that reaches it.
    cfg.service(endpoint("/v1/purchases", "POST", web::post().to(purchase::purchase)))
        .service(endpoint("/v1/checkouts", "POST", web::post().to(checkout::checkout)))
        .service(endpoint("/v1/reservations", "POST", web::post().to(reserve::reserve)))
        .service(docs)
        .service(web::redirect("/docs", "/docs/"))
        .service(endpoint("/", "GET, HEAD", web::get().to(dashboard::dashboard)))
        .service(endpoint("/v1/demo/rush", "POST", web::post().to(rush::rush)))
        .service(endpoint("/v1/demo/bots", "POST", web::post().to(rush::bots)))
        .service(endpoint("/v1/demo/replay", "POST", web::post().to(replay::replay)))
        .service(endpoint("/metrics", "GET, HEAD", web::get().to(metrics::metrics)))
        .service(endpoint("/v1/events", "GET, HEAD", web::get().to(events::events)))
        .service(endpoint("/healthz", "GET, HEAD", web::get().to(health::healthz)))
        .service(endpoint("/readyz", "GET, HEAD", web::get().to(health::readyz)))
        // Before `/v1/skus/{sku}`: a SKU may be called `import`, and GET still reads it.
        .service(
            endpoint(
                "/v1/skus/{sku:import}",
                "GET, HEAD, POST",
                web::get().to(get_stock::get_stock),
            )
            .route(web::post().to(import::import)),
        )
        .service(
            endpoint(
                "/v1/skus/{sku}",
                "GET, HEAD, DELETE",
                web::get().to(get_stock::get_stock),
            )
            .route(web::delete().to(retire::retire)),
        )
        .service(endpoint(
            "/v1/skus/{sku}/stock",
            "PUT",
            web::put().to(set_stock::set_stock),
        ))
        .service(endpoint(
            "/v1/skus/{sku}/restock",
            "POST",
            web::post().to(restock::restock),
        ))
        .service(endpoint(
            "/v1/skus/{sku}/locations/{location}/stock",
            "PUT",
            web::put().to(set_location_stock::set_location_stock),
        ))
        .service(endpoint(
            "/v1/skus/{sku}/locations/{location}/adjustments",
            "POST",
            web::post().to(adjust::adjust),
        ))
        .service(
            web::resource("/v1/skus/{sku}/alerts")
                .route(web::get().to(alerts::get_rules))
                .route(web::put().to(alerts::set_rules))
                .default_service(web::route().to(|| async {
                    Err::<actix_web::HttpResponse, _>(Error::MethodNotAllowed {
                        allow: "GET, HEAD, PUT",
                    })
                })),
        )
        .service(
            web::resource("/v1/skus/{sku}/sale")
                .route(web::get().to(sale::get_sale))
                .route(web::put().to(sale::set_sale))
                .default_service(web::route().to(|| async {
                    Err::<actix_web::HttpResponse, _>(Error::MethodNotAllowed {
                        allow: "GET, HEAD, PUT",
                    })
                })),
        )
        .service(
            endpoint("/v1/skus/{sku}/queue", "GET, HEAD, POST", web::post().to(queue::join))
                .route(web::get().to(queue::room)),
        )
        .service(endpoint(
            "/v1/skus/{sku}/queue/{ticket}",
            "GET, HEAD",
            web::get().to(queue::ticket),
        ))
        .service(endpoint("/v1/alerts", "GET, HEAD", web::get().to(alerts::list)))
        .service(
            endpoint("/v1/webhooks", "GET, HEAD, POST", web::get().to(webhooks::list))
                .route(web::post().to(webhooks::create)),
        )
        .service(endpoint(
            "/v1/webhooks/dead-letters",
            "GET, HEAD",
            web::get().to(webhooks::dead_letters),
        ))
        .service(endpoint(
            "/v1/webhooks/dead-letters/replay",
            "POST",
            web::post().to(webhooks::replay),
        ))
        .service(endpoint(
            "/v1/webhooks/dead-letters/{id:.+}",
            "DELETE",
            web::delete().to(webhooks::delete_dead_letter),
        ))
        .service(endpoint(
            "/v1/webhooks/{id}",
            "DELETE",
            web::delete().to(webhooks::delete),
        ))
        .service(endpoint(
            "/v1/alerts/low-stock",
            "GET, HEAD",
            web::get().to(alerts::low_stock),
        ))
        .service(endpoint(
            "/v1/skus/{sku}/transfers",
            "POST",
            web::post().to(transfer::transfer),
        ))
        .service(endpoint(
            "/v1/orders/{id}",
            "GET, HEAD",
            web::get().to(get_order::get_order),
        ))
        .service(
            endpoint(
                "/v1/skus/{sku}/incoming",
                "GET, HEAD, POST",
                web::get().to(incoming::purchase_orders),
            )
            .route(web::post().to(incoming::expect)),
        )
        .service(endpoint(
            "/v1/skus/{sku}/incoming/{ref}/receive",
            "POST",
            web::post().to(incoming::receive),
        ))
        .service(endpoint(
            "/v1/skus/{sku}/preorders",
            "PUT",
            web::put().to(incoming::set_preorders),
        ))
        .service(endpoint(
            "/v1/orders/{id}/cancel",
            "POST",
            web::post().to(cancel_order::cancel_order),
        ))
        .service(endpoint(
            "/v1/orders/{id}/returns",
            "POST",
            web::post().to(returns::return_order),
        ))
        .service(endpoint("/v1/movements", "POST", web::post().to(scans::record)))
        .service(endpoint("/v1/skus", "GET, HEAD", web::get().to(list_skus::list_skus)))
        .service(endpoint(
            "/v1/skus/{sku}/movements",
            "GET, HEAD",
            web::get().to(movements::movements),
        ))
        .service(endpoint(
            "/v1/reservations/{id}",
            "GET, HEAD",
            web::get().to(get_reservation::get_reservation),
        ))
        .service(endpoint(
            "/v1/reservations/{id}/confirm",
            "POST",
            web::post().to(confirm::confirm),
        ))
        .service(endpoint(
            "/v1/reservations/{id}/cancel",
            "POST",
            web::post().to(cancel::cancel),
        ))
        .service(endpoint(
            "/v1/reservations/{id}/extend",
            "POST",
            web::post().to(extend::extend),
        ));
}

/// One path with one method (add more with `.route`, and name them all in `allow`); any
/// other method is a `405` whose `Allow` header names them.
fn endpoint(path: &str, allow: &'static str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path).route(route).default_service(
        web::route().to(move || async move { Err::<actix_web::HttpResponse, _>(Error::MethodNotAllowed { allow }) }),
    )
}

/// The 404 for paths no route matches.
pub async fn not_found() -> Result<actix_web::HttpResponse, Error> {
    Err(Error::NotFound)
}
