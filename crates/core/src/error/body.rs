//! The JSON body of every error, and the small types its fields are made from.

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
    /// `reservation_not_active`: the reservation's status.
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
