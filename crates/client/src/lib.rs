//! # stockwatch-client: stockwatch's HTTP API from Rust
//!
//! A typed client for every endpoint of `docs/API.md`, built on the same domain types as
//! the server (`stockwatch-domain`): a `Sku`, a `Quantity` or a cart that the server would
//! refuse for its form cannot be built, so it is never sent.
//!
//! The part a hand-written client gets wrong is retries. A purchase whose reply is lost
//! (a timeout, a connection reset) may have happened. Sending it again as a new request
//! could sell twice; giving up could leave the buyer unsure. So every write the server
//! keys gets one `Idempotency-Key` per logical call, made before the first attempt and sent
//! on every retry of it: the server runs the call once and answers every repeat with the
//! first answer. Retries cover lost replies and `502`/`503`/`504` (honouring `Retry-After`,
//! with exponential backoff and jitter), inside one deadline for the whole call; each
//! attempt has its own timeout. A call that runs out of time without an answer says so
//! ([`Error::Unknown`]) and carries its key, so the caller can resume it
//! ([`Client::resuming`]) and learn what happened, without a second sale.
//!
//! - [`Client`], [`Builder`]: the connection, the credential and the time limits.
//! - `call`: one logical call, its attempts, their shared key and the deadline.
//! - `checkout`: purchases, carts, reservations and orders.
//! - `stockroom`: stock levels, locations, transfers, adjustments, movements, alert rules.
//! - `scans`: scanner batches, each scan applied once under its id.
//! - `alerts`: alerts, low stock, webhooks, dead letters and the event stream.
//! - `service`: health, readiness, metrics and the teaching demos.
//! - [`model`]: the answers; [`Error`] and [`Refusal`]: the failures.
//!
//! ```no_run
//! use stockwatch_client::{Client, domain::{Quantity, Sku, UserId}};
//! # async fn run() -> Result<(), stockwatch_client::Error> {
//! let client = Client::builder("http://127.0.0.1:8080").build()?;
//! let sku = Sku::parse("ps5")?;
//! let order = client.purchase(&sku, Quantity::try_from(1)?, &UserId::try_from("ada".to_owned())?).await?;
//! println!("order {} left {}", order.order_id, order.remaining);
//! # Ok(()) }
//! ```

mod after_sale;
mod alerts;
mod call;
mod checkout;
mod error;
pub mod model;
mod sale;
mod scans;
mod service;
mod stockroom;

pub use after_sale::{OrderReturn, PreorderSettings, ReturnLine, Returned};
pub use error::{Error, Refusal};
pub use model::Event;
pub use sale::{Sale, SaleSettings, SaleUpdate, Setting, TicketView};
pub use scans::{Change, Scan, ScanResult};
pub use stockroom::Rules;
pub use stockwatch_domain as domain;

use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use stockwatch_domain::{IdempotencyKey, InvalidInput, Strategy};

/// A handle on one stockwatch server. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// The key the next keyed calls use instead of a fresh one ([`Client::resuming`]).
    key: Option<IdempotencyKey>,
    /// How takes run on the server.
    strategy: Strategy,
    /// The waiting-room admissions takes present ([`Client::with_admission`]).
    admission: Option<Arc<str>>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: url::Url,
    token: Option<SecretString>,
    deadline: Duration,
    attempt_timeout: Duration,
    backoff: backon::ExponentialBuilder,
}

impl Client {
    /// Starts a client of the server at `base` (`http://host:port`).
    pub fn builder(base: &str) -> Builder {
        Builder {
            base: base.to_owned(),
            token: None,
            deadline: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(2),
            first_retry: Duration::from_millis(50),
            max_retry: Duration::from_secs(2),
        }
    }

    /// This client, with its keyed calls sent under `key` instead of a fresh key each: to
    /// resume a call that ended in [`Error::Unknown`], repeat it, with the same arguments,
    /// on `client.resuming(key)`. The server answers with the first call's answer, or runs
    /// it now if it never ran. One key is one call: a different call under it is refused
    /// (`422 idempotency_key_reused`).
    pub fn resuming(&self, key: IdempotencyKey) -> Self {
        Self {
            key: Some(key),
            ..self.clone()
        }
    }

    /// This client, with its takes presenting `admission` (the token a waiting room's
    /// ticket carries once admitted; several separated by commas) as the `Admission`
    /// header: what a SKU with a waiting room needs.
    pub fn with_admission(&self, admission: &str) -> Self {
        Self {
            admission: Some(admission.into()),
            ..self.clone()
        }
    }

    /// This client, with takes (purchases, checkouts, reservations) run by `strategy` on the
    /// server (`watch` unless set).
    pub fn with_strategy(&self, strategy: Strategy) -> Self {
        Self {
            strategy,
            ..self.clone()
        }
    }
}

/// How a [`Client`] is made.
#[derive(Debug)]
pub struct Builder {
    base: String,
    token: Option<SecretString>,
    deadline: Duration,
    attempt_timeout: Duration,
    connect_timeout: Duration,
    first_retry: Duration,
    max_retry: Duration,
}

impl Builder {
    /// Sends `token` as `Authorization: Bearer`: the server's admin token, or an API key.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SecretString::from(token.into()));
        self
    }

    /// Longest one logical call may take, retries and waits included (default 10 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Longest one attempt may wait for its answer (default 3 s; the server answers within
    /// its own response timeout, 2 s by default).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Longest a connection may take to open (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The waits between attempts: `first` at first, doubling to at most `max`, each
    /// lengthened by a random part of itself (`backon`'s jitter) so that clients refused
    /// together do not come back together; a `Retry-After` from the server is a floor.
    /// Defaults: 50 ms and 2 s.
    pub fn retry_waits(mut self, first: Duration, max: Duration) -> Self {
        self.first_retry = first;
        self.max_retry = max;
        self
    }

    /// The client, or why `base` is not a server's address.
    pub fn build(self) -> Result<Client, Error> {
        let base = url::Url::parse(&self.base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| InvalidInput::new(format!("{} is not an http(s) URL", self.base)))?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("stockwatch-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Unreachable)?;
        let backoff = backon::ExponentialBuilder::default()
            .with_min_delay(self.first_retry)
            .with_max_delay(self.max_retry)
            .with_jitter()
            .without_max_times();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                token: self.token,
                deadline: self.deadline,
                attempt_timeout: self.attempt_timeout,
                backoff,
            }),
            key: None,
            strategy: Strategy::Watch,
            admission: None,
        })
    }
}
