//! What handlers take from a request: the app's state, the admin proof, the typed JSON
//! body, the strategy, the Idempotency-Key, and path and query parameters. Each refusal is a
//! contract error, so handlers only ever see checked input.

use crate::domain::{IdempotencyKey, InvalidInput, ReservationId, Sku, Strategy};
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
/// `application/x-www-form-urlencoded` by default), with no key twice at any depth.
/// Anything else is a `400` that names what is wrong; an oversized body is a `413`.
pub struct JsonBody<T> {
    body: T,
}

impl<T> JsonBody<T> {
    /// The typed body.
    pub fn get(&self) -> &T {
        &self.body
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
            let value = match strict_json(&bytes) {
                Ok(value @ Value::Object(_)) => value,
                Ok(_) => return Err(InvalidInput::new("body must be a JSON object").into()),
                Err(e) => return Err(InvalidInput::new(format!("body is not valid JSON: {e}")).into()),
            };
            // Bodies whose fields are `Field`s cannot fail here; a typed field would.
            let body = T::deserialize(&value).map_err(|e| InvalidInput::new(format!("body does not fit: {e}")))?;
            Ok(Self { body })
        })
    }
}

/// Parses JSON as `serde_json` does, but refuses an object that names a key twice (at any
/// depth): serde_json would keep the last, so `{"quantity":1,"quantity":999}` would buy 999
/// while a proxy or log that reads the first saw 1.
pub fn strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

    struct Strict;

    impl<'de> DeserializeSeed<'de> for Strict {
        type Value = Value;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Strict {
        type Value = Value;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }

        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
        }

        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }

        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }

        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element_seed(Strict)? {
                out.push(v);
            }
            Ok(Value::Array(out))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(A::Error::custom(format_args!("the key {key:?} appears twice")));
                }
                let value = map.next_value_seed(Strict)?;
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        }
    }

    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The body of an endpoint that takes none (confirm, cancel, delete, replay): it must be
/// empty, blank, or the empty JSON object `{}` that some clients always send. Anything else
/// is a `400`: a body that was meant to say something must not be silently ignored.
pub struct NoBody;

impl FromRequest for NoBody {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(_: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        Box::pin(async move {
            let mut bytes = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| InvalidInput::new("request body could not be read"))?;
                if bytes.len() + chunk.len() > BODY_LIMIT {
                    return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
                }
                bytes.extend_from_slice(&chunk);
            }
            let text = std::str::from_utf8(&bytes).unwrap_or("?").trim();
            let empty_object = text
                .strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .is_some_and(|t| t.trim().is_empty());
            if text.is_empty() || empty_object {
                Ok(NoBody)
            } else {
                Err(InvalidInput::new("this endpoint takes no request body (send none, or {})").into())
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
            .and_then(bearer);
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
        let raw = match query_param(req, "strategy") {
            Ok(raw) => raw,
            Err(e) => return std::future::ready(Err(e)),
        };
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
    /// the checked command the handler built from the body. The fingerprint is of what the
    /// handler understood, not of the bytes: `1` and `1.0`, a field it ignores, or keys in
    /// another order make the same request. Serialized only when there is a key.
    pub fn for_command<C: serde::Serialize>(self, scope: &[&str], command: &C) -> Option<Idempotency> {
        self.0.map(|key| {
            let canonical = serde_json::to_string(command).unwrap_or_default();
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

/// A query parameter, percent-decoded; given twice, a `400` (which one counts would be a
/// guess that a proxy or cache may make differently).
pub fn query_param(req: &HttpRequest, name: &str) -> Result<Option<String>, Error> {
    let mut found = url::form_urlencoded::parse(req.query_string().as_bytes()).filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.into_owned());
    if found.next().is_some() {
        return Err(InvalidInput::new(format!("query parameter {name} is given more than once")).into());
    }
    Ok(first)
}

/// Refuses a query string that names a parameter other than `known` (a typo such as
/// `?ids=` must not widen what a call does).
pub fn only_query_params(req: &HttpRequest, known: &[&str]) -> Result<(), Error> {
    for (name, _) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if !known.contains(&name.as_ref()) {
            let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
            return Err(InvalidInput::new(format!("unknown query parameter {shown:?}")).into());
        }
    }
    Ok(())
}

/// What makes a request malformed before any handler reads it: a query parameter or a
/// header the API reads given twice (the first and the last could each be taken for the
/// one that counts; two `Authorization` headers once decided between 200 and 403).
pub fn duplicated(req: &HttpRequest) -> Option<Error> {
    use actix_web::http::header;
    let read_once = [
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        IDEMPOTENCY_KEY,
    ];
    if let Some(name) = read_once.iter().find(|h| req.headers().get_all(*h).nth(1).is_some()) {
        return Some(InvalidInput::new(format!("the {name} header is given more than once")).into());
    }
    let mut seen = std::collections::HashSet::new();
    for (name, _) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if !seen.insert(name.clone()) {
            let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
            return Some(InvalidInput::new(format!("query parameter {shown:?} is given more than once")).into());
        }
    }
    None
}

/// The `Idempotency-Key` header's name.
pub const IDEMPOTENCY_KEY: actix_web::http::header::HeaderName =
    actix_web::http::header::HeaderName::from_static("idempotency-key");

/// The credentials of an `Authorization: Bearer …` header; the scheme is matched without
/// regard to case (RFC 9110 §11.1), and blanks around the token are dropped.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once(|c: char| c == ' ' || c == '\t')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A path segment by name, percent-decoded; never fails (a bad one simply won't parse).
pub fn path_param(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_owned()
}

/// The `{sku}` of a path, recorded on the handler's span. One rule for every endpoint: a
/// name that cannot be a SKU is a `400` (it is not echoed: it may hold anything), a valid
/// one that does not exist is the operation's `404 unknown_sku`.
pub fn path_sku(req: &HttpRequest) -> Result<Sku, Error> {
    let sku = Sku::parse(req.match_info().get("sku").unwrap_or_default())
        .map_err(|e| InvalidInput::new(format!("path {e}")))?;
    tracing::Span::current().record("sku", sku.as_str());
    Ok(sku)
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

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for ok in ["Bearer t", "bearer t", "BEARER t", "bEaReR   t ", "Bearer\tt"] {
            assert_eq!(super::bearer(ok), Some("t"), "{ok:?}");
        }
        for bad in ["Basic t", "Bearert", "Bearer", "", "Token t"] {
            assert!(super::bearer(bad).is_none_or(str::is_empty), "{bad:?}");
        }
    }

    #[test]
    fn strict_json_refuses_a_key_given_twice_at_any_depth() {
        assert!(super::strict_json(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        for bad in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"items":[{"sku":"x","sku":"y"}]}"#,
            br#"{"b":{"c":1,"c":1}}"#,
        ] {
            let err = super::strict_json(bad).unwrap_err().to_string();
            assert!(err.contains("twice"), "{err}");
        }
        assert!(super::strict_json(b"{} x").is_err(), "trailing bytes");
    }
}
