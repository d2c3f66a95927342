//! HTTP handlers, one file each, and the extractors they share. Handlers are thin: parse
//! into domain types, call one operation, shape the JSON.

mod cancel;
mod checkout;
mod confirm;
mod dashboard;
mod events;
mod extend;
mod get_order;
mod get_reservation;
mod get_stock;
mod health;
mod metrics;
mod movements;
pub mod observe;
pub mod openapi;
mod purchase;
mod reserve;
mod restock;
mod rush;
mod set_stock;

use crate::domain::{IdempotencyKey, InvalidInput, Strategy};
use crate::error::Error;
use crate::ops::Idempotency;
use crate::store::Store;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

/// Largest request body accepted (the contract's 64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState {
    /// Redis and the operations' settings.
    pub store: Store,
    /// Required by admin endpoints when set.
    pub admin_token: Option<AdminToken>,
    /// Whether `?strategy=broken` is served.
    pub allow_broken: bool,
    /// Fires when the server stops, so that endless responses (event streams) end.
    pub stop: tokio::sync::broadcast::Sender<()>,
}

/// The admin bearer token. Its `Debug` never shows the secret, so it cannot leak into logs.
pub struct AdminToken(String);

impl AdminToken {
    /// Wraps the configured token.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// Compares in constant time (for equal lengths), so timing does not reveal a prefix.
    fn matches(&self, presented: &str) -> bool {
        self.0.len() == presented.len() && bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Wires every route; unknown paths and methods get JSON errors too.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // No online validator badge: the page must work with no network at all.
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
        .url("/openapi.json", openapi::document())
        .config(
            utoipa_swagger_ui::Config::default()
                .validator_url("none")
                .try_it_out_enabled(true),
        );
    cfg.service(docs)
        .service(web::redirect("/docs", "/docs/"))
        .service(endpoint("/", "GET", web::get().to(dashboard::dashboard)))
        .service(endpoint("/v1/demo/rush", "POST", web::post().to(rush::rush)))
        .service(endpoint("/metrics", "GET", web::get().to(metrics::metrics)))
        .service(endpoint("/v1/events", "GET", web::get().to(events::events)))
        .service(endpoint("/healthz", "GET", web::get().to(health::healthz)))
        .service(endpoint("/readyz", "GET", web::get().to(health::readyz)))
        .service(endpoint("/v1/skus/{sku}", "GET", web::get().to(get_stock::get_stock)))
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
        .service(endpoint("/v1/purchases", "POST", web::post().to(purchase::purchase)))
        .service(endpoint("/v1/checkouts", "POST", web::post().to(checkout::checkout)))
        .service(endpoint("/v1/orders/{id}", "GET", web::get().to(get_order::get_order)))
        .service(endpoint(
            "/v1/skus/{sku}/movements",
            "GET",
            web::get().to(movements::movements),
        ))
        .service(endpoint("/v1/reservations", "POST", web::post().to(reserve::reserve)))
        .service(endpoint(
            "/v1/reservations/{id}",
            "GET",
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

/// One path with one method; any other method is a `405` whose `Allow` header names it.
fn endpoint(path: &str, allow: &'static str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path).route(route).default_service(
        web::route().to(move || async move { Err::<actix_web::HttpResponse, _>(Error::MethodNotAllowed { allow }) }),
    )
}

/// The 404 for paths no route matches.
pub async fn not_found() -> Result<actix_web::HttpResponse, Error> {
    Err(Error::NotFound)
}

/// A JSON object body, read with the 64 KiB limit. Any other body is a `400` that names
/// what is wrong; an oversized one is a `413`.
pub struct JsonBody(pub Map<String, Value>);

impl JsonBody {
    /// A field, or `None` when absent.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    /// The body in one canonical form (keys sorted), so that the same request fingerprints
    /// the same however its JSON was spaced or ordered.
    pub fn canonical(&self) -> String {
        serde_json::to_string(&self.0).expect("a JSON map serializes")
    }

    /// A field that must be present; `null` counts as absent.
    pub fn required(&self, field: &str) -> Result<&Value, InvalidInput> {
        self.0
            .get(field)
            .filter(|v| !v.is_null())
            .ok_or_else(|| InvalidInput::new(format!("{field} is required")))
    }
}

impl FromRequest for JsonBody {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > BODY_LIMIT) {
                return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| InvalidInput::new("request body could not be read"))?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
                }
                body.extend_from_slice(&chunk);
            }
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(map)) => Ok(JsonBody(map)),
                Ok(_) => Err(InvalidInput::new("body must be a JSON object").into()),
                Err(e) => Err(InvalidInput::new(format!("body is not valid JSON: {e}")).into()),
            }
        })
    }
}

/// Proof that the caller may use admin endpoints (always, when no token is configured).
pub struct Admin;

impl FromRequest for Admin {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered");
        let Some(token) = &state.admin_token else {
            return std::future::ready(Ok(Admin));
        };
        let presented = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        std::future::ready(match presented {
            None => Err(Error::Unauthorized),
            Some(p) if token.matches(p.trim()) => Ok(Admin),
            Some(_) => Err(Error::Forbidden),
        })
    }
}

/// The `?strategy=` of a stock-moving request, refused as `broken_disabled` when the server
/// does not allow the broken path.
pub struct StrategyParam(pub Strategy);

impl FromRequest for StrategyParam {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered");
        let raw = query_param(req, "strategy");
        std::future::ready(match Strategy::parse(raw.as_deref()) {
            Ok(Strategy::Broken) if !state.allow_broken => Err(Error::BrokenDisabled),
            Ok(s) => Ok(StrategyParam(s)),
            Err(e) => Err(e.into()),
        })
    }
}

/// The optional `Idempotency-Key` header; a malformed one is a `400`.
pub struct IdempotencyHeader(Option<IdempotencyKey>);

impl IdempotencyHeader {
    /// Pairs the key with a fingerprint of what makes this request what it is.
    pub fn for_request(self, parts: &[&str]) -> Option<Idempotency> {
        self.0.map(|key| Idempotency::new(key, parts))
    }
}

impl FromRequest for IdempotencyHeader {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.headers().get("Idempotency-Key");
        std::future::ready(match raw.map(|v| IdempotencyKey::parse(v.as_bytes())).transpose() {
            Ok(key) => Ok(Self(key)),
            Err(e) => Err(e.into()),
        })
    }
}

/// The first value of a query parameter, percent-decoded.
pub fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A path segment by name, percent-decoded; never fails (a bad one simply won't parse).
pub fn path_param(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::AdminToken;

    #[test]
    fn the_admin_token_matches_only_itself_and_never_shows() {
        let token = AdminToken::new("s3cret-token".into());
        assert!(token.matches("s3cret-token"));
        for wrong in [
            "",
            "s3cret-toke",
            "s3cret-token ",
            "S3cret-token",
            "s3cret-tokeN",
            "x3cret-token",
        ] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
