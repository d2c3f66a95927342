//! What handlers take from a request: the app's state (the caller's proof is in `auth`), the typed JSON
//! body (in `body`), the strategy, the Idempotency-Key, and path and query parameters. Each refusal is a
//! contract error, so handlers only ever see checked input.

pub use super::body::{BODY_LIMIT, JsonBody, NoBody, strict_json};
use crate::domain::{IdempotencyKey, InvalidInput, OrderId, ReservationId, Sku, Strategy};
use crate::error::Error;
use crate::ops::Idempotency;
use crate::ops::Inventory;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

/// What every handler can reach: one per worker thread, alike but for the worker's lane.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Redis and the operations' settings: the worker's lane ([`Inventory::lane`]).
    pub store: Inventory,
    /// Who may call what: the admin token, client keys and whether they are required.
    pub access: std::sync::Arc<crate::access::Access>,
    /// Whether `?strategy=broken` is served.
    pub allow_broken: bool,
    /// Fires when the server stops, so that endless responses (event streams) end.
    pub stop: tokio::sync::broadcast::Sender<()>,
    /// The ledger's PostgreSQL, when configured: where aged-out orders are read.
    pub books: Option<sqlx::PgPool>,
    /// Which webhook URLs may be registered, and how dead letters are replayed.
    pub webhooks: crate::webhooks::WebhookConfig,
    /// Where request spans are exported (`--otlp-endpoint`), when anywhere.
    pub traces: Option<crate::otlp::TraceExport>,
    /// Signs and checks waiting-room admissions (`--admission-secret`).
    pub admission: std::sync::Arc<crate::admission::AdmissionKey>,
}

impl AppState {
    /// The inventory a take of `user` runs on: the request's admissions, when it sent an
    /// `Admission` header, ride with it into the take's transaction or script.
    pub fn store_for(
        &self,
        admission: &AdmissionHeader,
        user: &crate::domain::UserId,
    ) -> std::borrow::Cow<'_, Inventory> {
        match &admission.0 {
            None => std::borrow::Cow::Borrowed(&self.store),
            Some(header) => {
                std::borrow::Cow::Owned(self.store.with_admissions(self.admission.admissions(header, user)))
            }
        }
    }
}

/// The optional `Admission` header (waiting-room tokens, separated by commas): at most
/// 4 KiB of visible ASCII, else a `400`.
#[derive(Debug)]
pub struct AdmissionHeader(Option<String>);

impl FromRequest for AdmissionHeader {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut values = req.headers().get_all(ADMISSION);
        let first = values.next();
        let checked = match (first, values.next()) {
            (_, Some(_)) => Err(InvalidInput::new("the Admission header is given more than once")),
            (None, None) => Ok(None),
            (Some(v), None) => v
                .to_str()
                .ok()
                .filter(|s| s.len() <= 4096 && s.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
                .map(|s| Some(s.to_owned()))
                .ok_or_else(|| InvalidInput::new("the Admission header must be at most 4096 visible ASCII characters")),
        };
        std::future::ready(checked.map(Self).map_err(Into::into))
    }
}

impl AppState {
    /// This state for a worker thread of its own, on a lane of its own. A lane can only
    /// fail to open on settings the first store already accepted; should it fail anyway, the
    /// worker shares the process's lane, which is slower but as correct.
    pub fn on_own_lane(&self) -> Self {
        let store = self.store.lane().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a worker's own Redis lane could not be opened; it shares the process's");
            self.store.clone()
        });
        Self { store, ..self.clone() }
    }
}

/// The `?strategy=` of a stock-moving request, refused as `broken_disabled` when the server
/// does not allow the broken path.
#[derive(Debug)]
pub struct StrategyParam(pub Strategy);

impl FromRequest for StrategyParam {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered");
        // Found by the request middleware as it screened the request; screened here only
        // where no middleware did (the same function, so the same answer).
        let found = req.extensions().get::<NamedStrategy>().cloned();
        let named = match found.map_or_else(|| screened(req), Ok) {
            Ok(NamedStrategy(named)) => named,
            Err(e) => return std::future::ready(Err(e)),
        };
        std::future::ready(match named.unwrap_or(Ok(Strategy::Watch)) {
            Ok(Strategy::Broken) if !state.allow_broken => Err(Error::BrokenDisabled),
            Ok(s) => Ok(StrategyParam(s)),
            Err(e) => Err(e.into()),
        })
    }
}

/// The optional `Idempotency-Key` header; a malformed one is a `400`.
#[derive(Debug)]
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
        let raw = req.headers().get(IDEMPOTENCY_KEY);
        std::future::ready(match raw.map(|v| IdempotencyKey::parse(v.as_bytes())).transpose() {
            Ok(key) => Ok(Self(key)),
            Err(e) => Err(e.into()),
        })
    }
}

/// A query parameter, percent-decoded (borrowed from the request unless it had escapes);
/// given twice, a `400` (which one counts would be a guess that a proxy or cache may make
/// differently).
pub fn query_param<'r>(req: &'r HttpRequest, name: &str) -> Result<Option<std::borrow::Cow<'r, str>>, Error> {
    let mut found = url::form_urlencoded::parse(req.query_string().as_bytes()).filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v);
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

/// The `?strategy=` a request names, parsed (`None`: it names none), as the request
/// middleware found it while it screened the request ([`screened`]), for [`StrategyParam`].
#[derive(Debug, Clone)]
pub struct NamedStrategy(pub Option<Result<Strategy, InvalidInput>>);

/// What makes a request malformed before any handler reads it: a query parameter or a
/// header the API reads given twice (the first and the last could each be taken for the
/// one that counts; two `Authorization` headers once decided between 200 and 403). Else, from
/// the same pass over the query string, the strategy it names.
pub fn screened(req: &HttpRequest) -> Result<NamedStrategy, Error> {
    use actix_web::http::header;
    let read_once = [
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        IDEMPOTENCY_KEY,
    ];
    if let Some(name) = read_once.iter().find(|h| req.headers().get_all(*h).nth(1).is_some()) {
        return Err(InvalidInput::new(format!("the {name} header is given more than once")).into());
    }
    let (mut seen, mut named) = (crate::domain::Seen::default(), None);
    for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if !seen.first_time(name.clone()) {
            let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
            return Err(InvalidInput::new(format!("query parameter {shown:?} is given more than once")).into());
        }
        if name == "strategy" {
            named = Some(Strategy::parse(Some(&value)));
        }
    }
    Ok(NamedStrategy(named))
}

/// The `Admission` header's name (a static name: looking a header up by a string parses
/// and, for a name HTTP does not define, allocates it on every request).
pub const ADMISSION: actix_web::http::header::HeaderName =
    actix_web::http::header::HeaderName::from_static("admission");

/// The `Idempotency-Key` header's name.
pub const IDEMPOTENCY_KEY: actix_web::http::header::HeaderName =
    actix_web::http::header::HeaderName::from_static("idempotency-key");

/// The credentials of an `Authorization: Bearer …` header; the scheme is matched without
/// regard to case (RFC 9110 §11.1), and blanks around the token are dropped.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once([' ', '\t'])?;
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
    note!("sku", sku.as_str());
    Ok(sku)
}

/// The `{id}` of a reservation path; anything that is not one of our ids is a 404 without
/// a Redis call.
pub fn reservation_id(req: &HttpRequest) -> Result<ReservationId, Error> {
    ReservationId::parse(&path_param(req, "id")).ok_or(Error::UnknownReservation)
}

/// The `{id}` of an order's path: anything but one of our ids is `unknown_order`, without
/// a Redis call.
pub fn order_id(req: &HttpRequest) -> Result<OrderId, Error> {
    OrderId::parse(&path_param(req, "id")).ok_or(Error::UnknownOrder)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for ok in ["Bearer t", "bearer t", "BEARER t", "bEaReR   t ", "Bearer\tt"] {
            assert_eq!(super::bearer(ok), Some("t"), "{ok:?}");
        }
        for bad in ["Basic t", "Bearert", "Bearer", "", "Token t"] {
            assert!(super::bearer(bad).is_none_or(str::is_empty), "{bad:?}");
        }
    }
}
