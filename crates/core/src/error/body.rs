//! The JSON body of every error, and the small types its fields are made from.

use super::Error;
use crate::domain::{Sku, Timestamp};
use serde::Serialize;

/// A SKU line that could not be served, as listed in `409 insufficient_stock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Shortage {
    /// The short SKU.
    pub sku: Sku,
    /// What was available when the decision was taken.
    pub available: i64,
    /// What the request asked for.
    pub requested: i64,
}

/// Every error response: `error` and `message`, plus the fields the contract lists for
/// that code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The stable snake_case code, e.g. `insufficient_stock`.
    #[schema(example = "insufficient_stock")]
    pub error: &'static str,
    /// One human sentence.
    pub message: String,
    /// `unknown_sku`, `unknown_location`, `sku_in_use`, and a one-line `insufficient_stock`:
    /// the SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// `unknown_location`: the location asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// One-line `insufficient_stock`: what was available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// One-line `insufficient_stock`: what was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<i64>,
    /// `insufficient_stock`: every short line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Shortage>>,
    /// `sku_in_use`: units held by active reservations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved: Option<i64>,
    /// `sku_in_use`: units preordered and still waiting (v1.5; only when some are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preordered: Option<i64>,
    /// `reservation_not_active`: the reservation's status; `order_not_cancellable`: the
    /// order's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `contention` and `insufficient_stock`: attempts made (a refusal after retries shows
    /// who lost a race only after trying hard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// `not_on_sale` before the sale: when it opens (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
    /// `not_on_sale` after the sale: when it closed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
    /// `limit_exceeded`: the SKU's per-customer limit (of units, or of active holds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `limit_exceeded`: what the customer already has against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already: Option<i64>,
    /// `limit_exceeded`: what the limit counts, `units` or `active_holds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<&'static str>,
    /// `return_exceeds_sold`: units the order line sold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sold: Option<i64>,
    /// `return_exceeds_sold`: units of the line returned already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returned: Option<i64>,
    /// `unknown_purchase_order`, `purchase_order_exists`, `receipt_exceeds_incoming`: the
    /// purchase order's reference.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `receipt_exceeds_incoming`: units of the purchase order not received yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incoming: Option<i64>,
    /// `forbidden` for an API key: the scope the endpoint needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::domain::Scope>,
}

/// Why a SKU's sale refuses a take at this instant (on Redis's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleWindow {
    /// Before `opens_at`.
    NotOpen(Timestamp),
    /// At or after `closes_at`.
    Closed(Timestamp),
}

/// What a per-customer limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capped {
    /// Units bought and held (`per_customer_limit`).
    Units,
    /// Active holds (`max_active_holds_per_customer`).
    ActiveHolds,
}

impl Capped {
    /// Its name in `limit_exceeded`'s `counts`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Units => "units",
            Self::ActiveHolds => "active_holds",
        }
    }
}

impl Error {
    /// The body as a typed value (its shape is what `/openapi.json` publishes).
    pub fn error_body(&self) -> ErrorBody {
        let mut body = ErrorBody {
            error: self.code(),
            message: self.message(),
            ..ErrorBody::default()
        };
        match self {
            Self::UnknownSku { sku } => body.sku = Some(sku.to_string()),
            Self::UnknownLocation { sku, location } => {
                body.sku = Some(sku.to_string());
                body.location = Some(location.to_string());
            }
            Self::InsufficientStock { items: short, attempts } => {
                // A single line also gets the purchase shape (`sku`, `available`, `requested`).
                if let [one] = short.as_slice() {
                    body.sku = Some(one.sku.to_string());
                    body.available = Some(one.available);
                    body.requested = Some(one.requested);
                }
                body.items = Some(short.clone());
                body.attempts = Some(*attempts);
            }
            Self::ShortAt {
                sku,
                location,
                available,
                requested,
                attempts,
                ..
            } => {
                body.sku = Some(sku.to_string());
                body.location = Some(location.to_string());
                body.available = Some(*available);
                body.requested = Some(*requested);
                body.items = Some(vec![Shortage {
                    sku: sku.clone(),
                    available: *available,
                    requested: *requested,
                }]);
                body.attempts = Some(*attempts);
            }
            Self::ReservationNotActive { status } => body.status = Some(status.as_str().to_owned()),
            Self::OrderNotCancellable { status } => {
                body.status = Some(status.as_str().to_owned());
            }
            Self::UnknownPurchaseOrder { sku, reference } | Self::PurchaseOrderExists { sku, reference } => {
                body.sku = Some(sku.to_string());
                body.reference = Some(reference.to_string());
            }
            Self::ReceiptExceedsIncoming {
                sku,
                reference,
                incoming,
                requested,
            } => {
                body.sku = Some(sku.to_string());
                body.reference = Some(reference.to_string());
                body.incoming = Some(*incoming);
                body.requested = Some(*requested);
            }
            Self::ReturnExceedsSold {
                sku,
                sold,
                returned,
                requested,
            } => {
                body.sku = Some(sku.to_string());
                body.sold = Some(*sold);
                body.returned = Some(*returned);
                body.requested = Some(*requested);
            }
            Self::SkuInUse {
                sku,
                reserved,
                preordered,
            } => {
                body.sku = Some(sku.to_string());
                body.reserved = Some(*reserved);
                body.preordered = (*preordered != 0).then_some(*preordered);
            }
            Self::AdmissionRequired { sku } | Self::AdmissionInvalid { sku } | Self::NoQueue { sku } => {
                body.sku = Some(sku.to_string());
            }
            Self::NotOnSale { sku, window, .. } => {
                body.sku = Some(sku.to_string());
                match window {
                    SaleWindow::NotOpen(at) => body.opens_at = Some(at.to_rfc3339()),
                    SaleWindow::Closed(at) => body.closes_at = Some(at.to_rfc3339()),
                }
            }
            Self::LimitExceeded {
                sku,
                limit,
                already,
                requested,
                counts,
            } => {
                body.sku = Some(sku.to_string());
                body.limit = Some(*limit);
                body.already = Some(*already);
                body.requested = Some(*requested);
                body.counts = Some(counts.as_str());
            }
            Self::MissingScope { scope } => body.scope = Some(*scope),
            Self::Contention { attempts, .. } => body.attempts = Some(*attempts),
            _ => {}
        }
        body
    }
}
