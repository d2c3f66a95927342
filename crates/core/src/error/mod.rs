//! Every failure stockwatch can report, and the one place each becomes an HTTP status and a
//! stable error code from the contract (`docs/API.md`, a copy of the shared contract).

use crate::domain::{InvalidInput, Location, ReservationStatus, Sku};
use actix_web::http::StatusCode;
use serde_json::Value;

mod body;
mod response;
mod store;
pub use body::{Capped, ErrorBody, SaleWindow, Shortage};
pub use store::{Cause, StoreError, has_code};

/// Everything an operation or request can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The request is malformed; the message names the field.
    #[error("{0}")]
    InvalidRequest(#[from] InvalidInput),
    /// The body is larger than the 64 KiB limit.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request's headers are larger than the limit.
    #[error("request headers are larger than {limit} bytes")]
    HeadersTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// An admin endpoint was called without a token.
    #[error("this endpoint needs an Authorization: Bearer token")]
    Unauthorized,
    /// The credential presented is not a key this server knows (unknown, revoked, or not
    /// a key at all) on an endpoint that needs one.
    #[error("the API key is not valid (unknown, revoked or malformed)")]
    InvalidKey,
    /// The key is valid but lacks the scope this endpoint needs.
    #[error("this API key lacks the `{scope}` scope")]
    MissingScope {
        /// The scope needed.
        scope: crate::domain::Scope,
    },
    /// An admin endpoint was called with the wrong token.
    #[error("the admin token is not valid")]
    Forbidden,
    /// `strategy=broken` on a server not started with `--allow-broken`.
    #[error("the broken strategy is disabled; start the server with --allow-broken to teach with it")]
    BrokenDisabled,
    /// No such SKU.
    #[error("unknown sku {sku}")]
    UnknownSku {
        /// The SKU that does not exist (a name that cannot be a SKU is `invalid_request`).
        sku: Sku,
    },
    /// The SKU has no such location (a line pinned to it, a transfer or an adjustment).
    #[error("sku {sku} has no location {location}")]
    UnknownLocation {
        /// The SKU.
        sku: Sku,
        /// The location asked for.
        location: Location,
    },
    /// No such webhook.
    #[error("unknown webhook")]
    UnknownWebhook,
    /// No such webhook dead letter.
    #[error("unknown dead letter")]
    UnknownDeadLetter,
    /// No such order.
    #[error("unknown order")]
    UnknownOrder,
    /// No such reservation.
    #[error("unknown reservation")]
    UnknownReservation,
    /// No route matches the path.
    #[error("no such endpoint")]
    NotFound,
    /// The route exists but not with this method.
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed {
        /// The method the endpoint does serve, for the `Allow` header.
        allow: &'static str,
    },
    /// Not enough stock for one or more lines; nothing was taken.
    #[error("not enough stock, nothing was taken: {}", describe_shortages(items))]
    InsufficientStock {
        /// Every short line.
        items: Vec<Shortage>,
        /// Attempts made before the refusal (more than 1 when conflicts forced re-reads).
        attempts: u32,
    },
    /// An admin move (a transfer, a write-off) asked for more than one location holds;
    /// nothing changed. The same `insufficient_stock` code as a purchase, with its own words
    /// and the location named.
    #[error(
        "nothing was {done}: {sku} has {available} available at {location}, and {requested} would have to leave it"
    )]
    ShortAt {
        /// What was attempted, as a past participle: "transferred", "adjusted".
        done: &'static str,
        /// The SKU.
        sku: Sku,
        /// The location the units would leave.
        location: crate::domain::Location,
        /// What is available there.
        available: i64,
        /// Units that would have to leave it.
        requested: i64,
        /// Attempts made.
        attempts: u32,
    },
    /// The SKU's sale is not open now (Redis's clock): before `opens_at`, or from
    /// `closes_at` on. Nothing was taken.
    #[error("{sku} is not on sale: {}", describe_window(window))]
    NotOnSale {
        /// The SKU.
        sku: Sku,
        /// Not yet open, or closed.
        window: SaleWindow,
        /// For a sale not yet open: seconds until it opens, as Redis's clock saw it.
        retry_after_s: u64,
    },
    /// The customer would pass the SKU's per-customer limit. Nothing was taken.
    #[error("{sku} allows {limit} {} per customer; this customer has {already} and asked for {requested}", counted_as(*counts))]
    LimitExceeded {
        /// The SKU.
        sku: Sku,
        /// The limit.
        limit: i64,
        /// What the customer already has against it.
        already: i64,
        /// What this call asked for.
        requested: i64,
        /// Units, or active holds.
        counts: Capped,
    },
    /// The SKU has a waiting room and the request presented no admission.
    #[error(
        "{sku} has a waiting room: join its queue (POST /v1/skus/{sku}/queue) and send the admission it grants as the Admission header"
    )]
    AdmissionRequired {
        /// The SKU.
        sku: Sku,
    },
    /// The SKU has a waiting room and no admission presented is valid for this customer
    /// and SKU now (another customer's, another SKU's, expired, or not signed by us).
    #[error(
        "no valid admission to {sku} for this customer: it names another customer or SKU, has expired, or was not issued by this service"
    )]
    AdmissionInvalid {
        /// The SKU.
        sku: Sku,
    },
    /// A waiting room's ticket that does not exist.
    #[error("unknown ticket")]
    UnknownTicket,
    /// Joining the queue of a SKU whose sale has no waiting room.
    #[error("{sku} has no waiting room")]
    NoQueue {
        /// The SKU.
        sku: Sku,
    },
    /// A SKU cannot be retired while units of it are held.
    #[error("{sku} cannot be retired while {reserved} units are reserved")]
    SkuInUse {
        /// The SKU.
        sku: Sku,
        /// Units held by active reservations.
        reserved: i64,
        /// Units sold or held as preorders, still waiting for their purchase orders (v1.5).
        preordered: i64,
    },
    /// The reservation is confirmed, cancelled or expired (possibly not yet swept).
    #[error("reservation is {status}, not active")]
    ReservationNotActive {
        /// Its current status.
        status: ReservationStatus,
    },
    /// The order was cancelled or has returns (v1.5).
    #[error("the order is {status} and cannot be cancelled")]
    OrderNotCancellable {
        /// Its status.
        status: crate::domain::OrderStatus,
    },
    /// A return line asks for more than its order line sold less what came back (v1.5).
    #[error("{sku}: {sold} sold, {returned} returned already, {requested} more cannot come back")]
    ReturnExceedsSold {
        /// The SKU.
        sku: Sku,
        /// Units the order sold of it (0: not in the order).
        sold: i64,
        /// Units returned or cancelled already.
        returned: i64,
        /// Units this return asked for.
        requested: i64,
    },
    /// No purchase order of the SKU has this reference (v1.5).
    #[error("{sku} has no purchase order {reference}")]
    UnknownPurchaseOrder {
        /// The SKU.
        sku: Sku,
        /// The reference asked for.
        reference: crate::domain::PoRef,
    },
    /// A purchase order of the SKU already has this reference (v1.5).
    #[error("{sku} already has a purchase order {reference}")]
    PurchaseOrderExists {
        /// The SKU.
        sku: Sku,
        /// The reference.
        reference: crate::domain::PoRef,
    },
    /// A receipt asks for more units than the purchase order still has on their way (v1.5).
    #[error("purchase order {reference} of {sku} has {incoming} units on their way, not {requested}")]
    ReceiptExceedsIncoming {
        /// The SKU.
        sku: Sku,
        /// The purchase order.
        reference: crate::domain::PoRef,
        /// Its units not received yet.
        incoming: i64,
        /// Units the receipt asked for.
        requested: i64,
    },
    /// The same Idempotency-Key was sent with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// Optimistic retries ran out: too many writers on the same keys right now.
    #[error("too much contention; retried {attempts} times")]
    Contention {
        /// Attempts made, the first included.
        attempts: u32,
        /// Whether the store's retry budget, not the call's own policy, ended the retries.
        throttled: bool,
    },
    /// The ledger's PostgreSQL did not answer a read only it can serve (an order that aged
    /// out of Redis).
    #[error("the ledger (PostgreSQL) is unavailable; try again")]
    LedgerUnavailable,
    /// Redis failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// `unknown_sku` for `sku`.
    pub fn unknown_sku(sku: &Sku) -> Self {
        Self::UnknownSku { sku: sku.clone() }
    }

    /// The stable snake_case code of the contract.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::HeadersTooLarge { .. } => "headers_too_large",
            Self::Unauthorized | Self::InvalidKey => "unauthorized",
            Self::Forbidden | Self::MissingScope { .. } => "forbidden",
            Self::BrokenDisabled => "broken_disabled",
            Self::UnknownSku { .. } => "unknown_sku",
            Self::UnknownLocation { .. } => "unknown_location",
            Self::UnknownOrder => "unknown_order",
            Self::UnknownWebhook => "unknown_webhook",
            Self::UnknownDeadLetter => "unknown_dead_letter",
            Self::UnknownReservation => "unknown_reservation",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::InsufficientStock { .. } | Self::ShortAt { .. } => "insufficient_stock",
            Self::ReservationNotActive { .. } => "reservation_not_active",
            Self::SkuInUse { .. } => "sku_in_use",
            Self::OrderNotCancellable { .. } => "order_not_cancellable",
            Self::ReturnExceedsSold { .. } => "return_exceeds_sold",
            Self::UnknownPurchaseOrder { .. } => "unknown_purchase_order",
            Self::PurchaseOrderExists { .. } => "purchase_order_exists",
            Self::ReceiptExceedsIncoming { .. } => "receipt_exceeds_incoming",
            Self::NotOnSale { .. } => "not_on_sale",
            Self::LimitExceeded { .. } => "limit_exceeded",
            Self::AdmissionRequired { .. } => "admission_required",
            Self::AdmissionInvalid { .. } => "admission_invalid",
            Self::UnknownTicket => "unknown_ticket",
            Self::NoQueue { .. } => "no_queue",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::Contention { .. } => "contention",
            Self::LedgerUnavailable => "ledger_unavailable",
            Self::Store(StoreError::Timeout | StoreError::Unavailable(_) | StoreError::Moved(_)) => "redis_unavailable",
            Self::Store(StoreError::OutOfMemory(_)) => "redis_out_of_memory",
            Self::Store(StoreError::ExecFailed(_) | StoreError::Protocol(_)) => "internal_error",
        }
    }

    /// The HTTP status of the contract.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Unauthorized | Self::InvalidKey => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::MissingScope { .. }
            | Self::BrokenDisabled
            | Self::AdmissionRequired { .. }
            | Self::AdmissionInvalid { .. } => StatusCode::FORBIDDEN,
            Self::UnknownSku { .. }
            | Self::UnknownLocation { .. }
            | Self::UnknownOrder
            | Self::UnknownWebhook
            | Self::UnknownDeadLetter
            | Self::UnknownReservation
            | Self::UnknownTicket
            | Self::UnknownPurchaseOrder { .. }
            | Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::InsufficientStock { .. }
            | Self::ShortAt { .. }
            | Self::ReservationNotActive { .. }
            | Self::SkuInUse { .. }
            | Self::OrderNotCancellable { .. }
            | Self::ReturnExceedsSold { .. }
            | Self::PurchaseOrderExists { .. }
            | Self::ReceiptExceedsIncoming { .. }
            | Self::NotOnSale { .. }
            | Self::NoQueue { .. }
            | Self::LimitExceeded { .. } => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Contention { .. } | Self::LedgerUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(
                StoreError::Timeout | StoreError::Unavailable(_) | StoreError::OutOfMemory(_) | StoreError::Moved(_),
            ) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(StoreError::ExecFailed(_) | StoreError::Protocol(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body: `error`, `message`, and the extra fields the contract lists.
    pub fn body(&self) -> Value {
        serde_json::to_value(self.error_body()).expect("error bodies serialize")
    }

    /// One human sentence; infrastructure detail stays in the logs, not in responses.
    fn message(&self) -> String {
        match self {
            Self::Store(StoreError::Timeout | StoreError::Unavailable(_) | StoreError::Moved(_)) => {
                "Redis is unavailable or did not answer in time; try again".into()
            }
            Self::Store(StoreError::OutOfMemory(_)) => "Redis is out of memory; nothing was written".into(),
            Self::Store(_) => "internal error; see the server log".into(),
            other => other.to_string(),
        }
    }
}

fn describe_window(window: &SaleWindow) -> String {
    match window {
        SaleWindow::NotOpen(at) => format!("it opens at {}", at.to_rfc3339()),
        SaleWindow::Closed(at) => format!("it closed at {}", at.to_rfc3339()),
    }
}

fn counted_as(counts: Capped) -> &'static str {
    match counts {
        Capped::Units => "units",
        Capped::ActiveHolds => "active holds",
    }
}

/// "ps5: 1 available, 5 requested; cable: 0 available, 1 requested".
fn describe_shortages(short: &[Shortage]) -> String {
    let part = |s: &Shortage| format!("{}: {} available, {} requested", s.sku, s.available, s.requested);
    short.iter().map(part).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests;
