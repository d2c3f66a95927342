//! Who may call what. Each handler names the scope it needs by taking one of [`Admin`],
//! [`Checkout`] or [`Reader`]; [`authorize`] applies the rules, once (the open/closed rule
//! itself is [`crate::access::Access::open`]):
//!
//! - `--admin-token` opens every endpoint (it is the operator's own credential).
//! - A client key (`swk_…`, made by `stockwatch keys create`) opens what its scopes allow;
//!   `admin` allows everything. An unknown or revoked key is `401`, a key without the
//!   scope `403`.
//! - Admin endpoints need a credential when a token is set or keys are required; the
//!   others only with `--require-keys`. An endpoint that is open does not look at the
//!   `Authorization` header at all, so an open checkout costs nothing extra.
//! - `/healthz`, `/readyz`, the dashboard page and the API's documents are always open:
//!   probes and the docs carry no data.

use super::extract::{AppState, bearer};
use crate::access::KeyCheck;
use crate::domain::{ApiKey, Scope};
use crate::error::Error;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::{Either, LocalBoxFuture, Ready, ready};

type Check = Either<Ready<Result<(), Error>>, LocalBoxFuture<'static, Result<(), Error>>>;

/// Whether this request may call an endpoint that needs `need`. Ready at once unless a
/// client key has to be looked up.
fn authorize(req: &HttpRequest, need: Scope) -> Check {
    let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered");
    let access = &state.access;
    if access.open(need) {
        return Either::Left(ready(Ok(())));
    }
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .filter(|p| !p.is_empty());
    let Some(presented) = presented else {
        return Either::Left(ready(Err(Error::Unauthorized)));
    };
    if access.admin_token.as_ref().is_some_and(|t| t.matches(presented)) {
        return Either::Left(ready(Ok(())));
    }
    let Some(key) = ApiKey::parse(presented) else {
        // Not a key: on an admin endpoint with a token set, a wrong token, as always.
        let wrong_token = need == Scope::Admin && access.admin_token.is_some();
        return Either::Left(ready(Err(if wrong_token {
            Error::Forbidden
        } else {
            Error::InvalidKey
        })));
    };
    // Only a key lookup holds on to the state (one reference count more).
    let state = state.clone();
    Either::Right(Box::pin(async move {
        let access = &state.access;
        match access.keyring.check(&state.store, &key, need).await? {
            KeyCheck::Allowed => Ok(()),
            KeyCheck::Unknown => Err(Error::InvalidKey),
            KeyCheck::Lacks => Err(Error::MissingScope { scope: need }),
        }
    }))
}

/// Declares a proof-of-access extractor for one scope.
macro_rules! scope_extractor {
    ($(#[$doc:meta])* $name:ident, $scope:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $name;

        impl FromRequest for $name {
            type Error = Error;
            type Future = futures_util::future::MapOk<Check, fn(()) -> $name>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                use futures_util::TryFutureExt;
                authorize(req, $scope).map_ok((|()| $name) as fn(()) -> $name)
            }
        }
    };
}

scope_extractor!(
    /// Proof that the caller may use admin endpoints: the admin token or an `admin` key
    /// (or nothing, when neither a token is set nor keys are required).
    Admin,
    Scope::Admin
);
scope_extractor!(
    /// Proof that the caller may buy and hold: a `checkout` key, when keys are required.
    Checkout,
    Scope::Checkout
);
scope_extractor!(
    /// Proof that the caller may read stock, alerts, events and metrics: a `read` key,
    /// when keys are required.
    Reader,
    Scope::Read
);
