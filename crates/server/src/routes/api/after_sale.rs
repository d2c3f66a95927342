//! Request bodies of an order's life after its sale (cancellations and returns) and of stock
//! on its way (purchase orders). Same rules
//! as `super::requests`: raw [`Field`]s, converted with `TryFrom` through the domain types'
//! `parse`, errors naming the field.

use crate::domain::{
    Disposition, Field, InvalidInput, Location, PoRef, Quantity, ReturnItems, ReturnLineRequest, Timestamp, whole_in,
};
use serde::Deserialize;
use utoipa::ToSchema;

/// `POST /v1/orders/{id}/cancel` (the body is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"disposition": "restock"}))]
pub struct CancelOrderRequest {
    /// `restock` (default): every unit back to `available` where it was sold from;
    /// `damaged`: to `damaged` there.
    #[serde(default)]
    #[schema(value_type = Option<Disposition>)]
    pub disposition: Field,
}

/// A checked cancellation.
#[derive(Debug, serde::Serialize)]
pub struct NewCancel {
    /// Where the units go.
    pub disposition: Disposition,
}

impl TryFrom<&CancelOrderRequest> for NewCancel {
    type Error = InvalidInput;

    fn try_from(body: &CancelOrderRequest) -> Result<Self, InvalidInput> {
        Ok(Self {
            disposition: Disposition::parse_optional(body.disposition.get(), "disposition")?,
        })
    }
}

/// `POST /v1/orders/{id}/returns`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"lines": [{"sku": "ps5", "quantity": 1, "disposition": "restock"}]}))]
pub struct ReturnRequest {
    /// 1-100 lines, each SKU once.
    #[serde(default)]
    #[schema(value_type = Vec<ReturnLineRequest>, required = true, min_items = 1, max_items = 100)]
    pub lines: Field,
}

/// A checked return.
#[derive(Debug, serde::Serialize)]
pub struct NewReturn {
    /// What comes back.
    pub lines: ReturnItems,
}

impl TryFrom<&ReturnRequest> for NewReturn {
    type Error = InvalidInput;

    fn try_from(body: &ReturnRequest) -> Result<Self, InvalidInput> {
        Ok(Self {
            lines: ReturnItems::parse(body.lines.get())?,
        })
    }
}

/// `POST /v1/skus/{sku}/incoming`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"ref": "PO-2026-0042", "quantity": 300, "expected_at": "2030-01-15T09:00:00Z", "location": "east"}))]
pub struct ExpectRequest {
    /// The shop's reference for the purchase order, once per SKU.
    #[serde(default, rename = "ref")]
    #[schema(value_type = PoRef, required = true)]
    pub reference: Field,
    /// Units ordered.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 1_000_000, example = 300)]
    pub quantity: Field,
    /// When they are expected: RFC 3339 with an offset.
    #[serde(default)]
    #[schema(value_type = String, format = DateTime, required = true)]
    pub expected_at: Field,
    /// Where they will arrive (default `default`); the SKU must have it.
    #[serde(default)]
    #[schema(value_type = Option<Location>)]
    pub location: Field,
}

/// A checked purchase order.
#[derive(Debug, serde::Serialize)]
pub struct NewPurchaseOrder {
    /// Its reference.
    pub reference: PoRef,
    /// Units.
    pub quantity: Quantity,
    /// When expected.
    pub expected_at: Timestamp,
    /// Where.
    pub location: Location,
}

impl TryFrom<&ExpectRequest> for NewPurchaseOrder {
    type Error = InvalidInput;

    fn try_from(body: &ExpectRequest) -> Result<Self, InvalidInput> {
        let reference = body
            .reference
            .required("ref")?
            .as_str()
            .ok_or_else(|| InvalidInput::new("ref must be a string"))
            .and_then(|r| PoRef::parse(r, "ref"))?;
        Ok(Self {
            reference,
            quantity: Quantity::parse(body.quantity.required("quantity")?, "quantity")?,
            expected_at: Timestamp::parse(body.expected_at.required("expected_at")?, "expected_at")?,
            location: Location::parse_optional(body.location.get(), "location")?
                .unwrap_or_else(Location::default_location),
        })
    }
}

/// `POST /v1/skus/{sku}/incoming/{ref}/receive` (the body is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"quantity": 100}))]
pub struct ReceiveRequest {
    /// Units that arrived; absent: everything the order still has on its way.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000, example = 100)]
    pub quantity: Field,
}

/// A checked receipt.
#[derive(Debug, serde::Serialize)]
pub struct NewReceipt {
    /// Units, or the rest.
    pub quantity: Option<Quantity>,
}

impl TryFrom<&ReceiveRequest> for NewReceipt {
    type Error = InvalidInput;

    fn try_from(body: &ReceiveRequest) -> Result<Self, InvalidInput> {
        Ok(Self {
            quantity: match body.quantity.optional() {
                None | Some(serde_json::Value::Null) => None,
                Some(q) => Some(Quantity::parse(q, "quantity")?),
            },
        })
    }
}

/// `PUT /v1/skus/{sku}/preorders`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"enabled": true, "limit": 300}))]
pub struct PreordersRequest {
    /// Whether a line the shelf cannot cover may be sold against incoming stock.
    #[serde(default)]
    #[schema(value_type = bool, required = true)]
    pub enabled: Field,
    /// At most this many units preordered at once; absent or `null`: as many as are
    /// incoming. Only with `enabled: true`.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000_000, example = 300)]
    pub limit: Field,
}

/// Checked preorder settings: `None` turns them off.
#[derive(Debug, serde::Serialize)]
pub struct NewPreorders(pub Option<crate::ops::level::Preorders>);

impl TryFrom<&PreordersRequest> for NewPreorders {
    type Error = InvalidInput;

    fn try_from(body: &PreordersRequest) -> Result<Self, InvalidInput> {
        let enabled = body
            .enabled
            .required("enabled")?
            .as_bool()
            .ok_or_else(|| InvalidInput::new("enabled must be true or false"))?;
        let limit = match body.limit.optional() {
            None => None,
            Some(v) => Some(whole_in(v, "limit", 0..=1_000_000_000).map(crate::convert::i64_of)?),
        };
        if !enabled && limit.is_some() {
            return Err(InvalidInput::new("limit applies only with enabled: true"));
        }
        Ok(Self(enabled.then_some(crate::ops::level::Preorders { limit })))
    }
}
