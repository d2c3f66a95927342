//! Request bodies of an order's life after its sale: cancellations and returns. Same rules
//! as `super::requests`: raw [`Field`]s, converted with `TryFrom` through the domain types'
//! `parse`, errors naming the field.

use crate::domain::{Disposition, Field, InvalidInput, ReturnItems, ReturnLineRequest};
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
