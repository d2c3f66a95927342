//! The ways a request can be refused, as OpenAPI responses: one per contract error code,
//! and the sets that several endpoints share, so each is declared once.

use crate::error::ErrorBody;
use std::collections::BTreeMap;
use utoipa::IntoResponses;
use utoipa::openapi::RefOr;
use utoipa::openapi::response::Response;

/// Declares one error response: its status, its description, and the error body.
macro_rules! error_response {
    ($name:ident, $status:literal, $description:literal) => {
        #[doc = $description]
        #[derive(Debug, IntoResponses)]
        #[response(status = $status, description = $description)]
        pub struct $name(pub ErrorBody);
    };
}

error_response!(
    InvalidRequest,
    400,
    "Invalid request: the message names the field (`invalid_request`)"
);
error_response!(
    Unauthorized,
    401,
    "No credential where one is needed, or an API key that is unknown or revoked (`unauthorized`)"
);
error_response!(
    Forbidden,
    403,
    "Wrong admin token, or an API key without the scope (`forbidden`, with `scope`)"
);
error_response!(
    ForbiddenOrBroken,
    403,
    "An API key without the `checkout` scope (`forbidden`, with `scope`), `strategy=broken` on a server without --allow-broken (`broken_disabled`), or a SKU with a waiting room and no valid admission for it (`admission_required`, `admission_invalid`, with `sku`)"
);
error_response!(UnknownSku, 404, "No such SKU (`unknown_sku`, with `sku`)");
error_response!(
    UnknownLocation,
    404,
    "The SKU has no such location (`unknown_location`, with `sku` and `location`)"
);
error_response!(UnknownReservation, 404, "No such reservation (`unknown_reservation`)");
error_response!(UnknownWebhook, 404, "No such webhook (`unknown_webhook`)");
error_response!(UnknownOrder, 404, "No such order (`unknown_order`)");
error_response!(
    UnknownOrderOrPlace,
    404,
    "No such order (`unknown_order`; an order that aged out of Redis into the ledger cannot change), or a SKU of it that was retired (`unknown_sku`), or a location the SKU does not have (`unknown_location`)"
);
error_response!(
    NotReturnable,
    409,
    "The order was cancelled or has returns (`order_not_cancellable`, with `status`), or a line asks for more than it sold less what came back (`return_exceeds_sold`, with `sku`, `sold`, `returned`, `requested`)"
);
error_response!(
    UnknownSkuOrTicket,
    404,
    "No such SKU (`unknown_sku`, with `sku`), or no such ticket in its waiting room (`unknown_ticket`)"
);
error_response!(
    NoQueue,
    409,
    "The SKU's sale has no waiting room (`no_queue`, with `sku`)"
);
error_response!(
    UnknownDeadLetter,
    404,
    "No dead letter has that id (`unknown_dead_letter`)"
);
error_response!(
    InsufficientStock,
    409,
    "Nothing was taken: not enough stock (`insufficient_stock`, listing every short line in `items`), or a SKU's sale refused it (`not_on_sale` with `sku` and `opens_at` or `closes_at`, and a Retry-After before it opens; `limit_exceeded` with `sku`, `limit`, `already`, `requested` and `counts`)"
);
error_response!(
    NotActive,
    409,
    "The reservation is confirmed, cancelled or expired (`reservation_not_active`, with `status`)"
);
error_response!(
    SkuInUse,
    409,
    "Units of the SKU are reserved; nothing changed (`sku_in_use`, with `sku` and `reserved`)"
);
error_response!(TooLarge, 413, "Body over 64 KiB (`payload_too_large`)");
error_response!(
    KeyReused,
    422,
    "Idempotency-Key reused with a different request (`idempotency_key_reused`)"
);
error_response!(
    Unavailable,
    503,
    "Redis unavailable or out of memory (`redis_unavailable`, `redis_out_of_memory`), or retries exhausted (`contention`, with a Retry-After header)"
);

/// Several error responses as one, so that endpoints refusing alike list them once.
macro_rules! error_responses {
    ($(#[$doc:meta])* $name:ident = $($part:ident),+) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                let mut all = BTreeMap::new();
                $(all.append(&mut <$part as IntoResponses>::responses());)+
                all
            }
        }
    };
}

error_responses!(
    /// How a purchase, checkout or reservation can be refused.
    TakeRefusals = InvalidRequest, Unauthorized, ForbiddenOrBroken, UnknownSku, UnknownLocation, InsufficientStock, TooLarge, KeyReused, Unavailable
);
error_responses!(
    /// How joining a waiting room can be refused.
    JoinRefusals = InvalidRequest, Unauthorized, Forbidden, UnknownSku, NoQueue, TooLarge, Unavailable
);
error_responses!(
    /// How reading a waiting room can be refused.
    RoomRefusals = InvalidRequest, Unauthorized, Forbidden, UnknownSku, NoQueue, Unavailable
);
error_responses!(
    /// How reading a ticket can be refused.
    TicketRefusals = InvalidRequest, Unauthorized, Forbidden, UnknownSkuOrTicket, Unavailable
);
error_responses!(
    /// How a stockroom change (transfer, adjustment) can be refused.
    StockroomRefusals = InvalidRequest, Unauthorized, Forbidden, UnknownSku, UnknownLocation, InsufficientStock, TooLarge, KeyReused, Unavailable
);
error_responses!(
    /// How a dead-letter replay or delete can be refused.
    DeadLetterRefusals = InvalidRequest, Unauthorized, Forbidden, UnknownDeadLetter, KeyReused, Unavailable
);
error_response!(
    UnknownSkuOrPlace,
    404,
    "No such SKU (`unknown_sku`), location of it (`unknown_location`), or purchase order of it (`unknown_purchase_order`, with `sku`, `ref`)"
);
error_response!(
    PurchaseOrderRefused,
    409,
    "The reference is taken (`purchase_order_exists`, with `sku`, `ref`), or a receipt asks for more than is on its way (`receipt_exceeds_incoming`, with `sku`, `ref`, `incoming`, `requested`)"
);
error_responses!(
    /// How a purchase order or its receipt can be refused.
    IncomingRefusals = InvalidRequest, Unauthorized, Forbidden, UnknownSkuOrPlace, PurchaseOrderRefused, TooLarge, KeyReused, Unavailable
);
error_responses!(
    /// How a cancellation or a return of an order can be refused.
    OrderRefusals = InvalidRequest, Unauthorized, Forbidden, UnknownOrderOrPlace, NotReturnable, TooLarge, KeyReused, Unavailable
);
error_responses!(
    /// How a change to a reservation (confirm, cancel) can be refused.
    HoldRefusals = InvalidRequest, Unauthorized, Forbidden, UnknownReservation, NotActive, KeyReused, Unavailable
);
