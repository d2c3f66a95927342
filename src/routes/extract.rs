//! What handlers take from a request: the app's state, the admin proof, the typed JSON
//! body, the strategy, the Idempotency-Key, and path and query parameters. Each refusal is a
//! contract error, so handlers only ever see checked input.

use crate::domain::{IdempotencyKey, InvalidInput, ReservationId, Strategy};
use crate::error::Error;
use crate::ops::Idempotency;
use crate::store::Store;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

/// Largest request body accepted (the contract's 64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Oversized bodies up to this size are read to the end before the 413, so the client
/// gets the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 1024 * 1024;

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
    /// The ledger's PostgreSQL, when configured: where aged-out orders are read.
    pub books: Option<sqlx::PgPool>,
    /// Which webhook URLs may be registered, and how dead letters are replayed.
    pub webhooks: crate::webhooks::WebhookConfig,
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

/// A request body of type `T` (one of [`super::api`]'s), read with the 64 KiB limit. It must
/// be a JSON object, whatever the `Content-Type` says (see the README: `curl -d` sends
/// `application/x-www-form-urlencoded` by default). Anything else is a `400` that names
/// what is wrong; an oversized body is a `413`. The raw object is kept for fingerprinting.
pub struct JsonBody<T> {
    body: T,
    raw: Map<String, Value>,
}

impl<T> JsonBody<T> {
    /// The typed body.
    pub fn get(&self) -> &T {
        &self.body
    }

    /// The body in one canonical form (keys sorted), so that the same request fingerprints
    /// the same however its JSON was spaced or ordered.
    pub fn canonical(&self) -> String {
        serde_json::to_string(&self.raw).expect("a JSON map serializes")
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
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
            if let Some(declared) = declared.filter(|&n| n > BODY_LIMIT) {
                // Read (and drop) a modestly oversized body before answering: refusing while
                // the client still sends makes the kernel reset the connection, and the
                // client never reads its 413. Far larger bodies are refused at once.
                if declared <= DRAIN_LIMIT {
                    while let Some(Ok(_)) = payload.next().await {}
                }
                return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
            }
            let mut bytes = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| InvalidInput::new("request body could not be read"))?;
                if bytes.len() + chunk.len() > BODY_LIMIT {
                    return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
                }
                bytes.extend_from_slice(&chunk);
            }
            let value = match serde_json::from_slice::<Value>(&bytes) {
                Ok(value @ Value::Object(_)) => value,
                Ok(_) => return Err(InvalidInput::new("body must be a JSON object").into()),
                Err(e) => return Err(InvalidInput::new(format!("body is not valid JSON: {e}")).into()),
            };
            // Bodies whose fields are `Field`s cannot fail here; a typed field would.
            let body = T::deserialize(&value).map_err(|e| InvalidInput::new(format!("body does not fit: {e}")))?;
            let Value::Object(raw) = value else {
                unreachable!("matched as an object above")
            };
            Ok(Self { body, raw })
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

    /// [`Self::for_request`] for a request with a body: `scope` (the strategy, if any) then
    /// the canonical body, which is only serialized when there is a key.
    pub fn for_body<T>(self, scope: &[&str], body: &JsonBody<T>) -> Option<Idempotency> {
        self.0.map(|key| {
            let canonical = body.canonical();
            let parts: Vec<&str> = scope.iter().copied().chain([canonical.as_str()]).collect();
            Idempotency::new(key, &parts)
        })
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

/// The `{id}` of a reservation path; anything that is not one of our ids is a 404 without
/// a Redis call.
pub fn reservation_id(req: &HttpRequest) -> Result<ReservationId, Error> {
    ReservationId::parse(&path_param(req, "id")).ok_or(Error::UnknownReservation)
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
