//! Request bodies of alerts and webhooks; same rules as `super::requests`.

use crate::domain::{Field, InvalidInput, whole_in};
use crate::ops::level::Rules;
use serde::Deserialize;
use utoipa::ToSchema;

/// `PUT /v1/skus/{sku}/alerts`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"low_stock_threshold": 10, "reorder_point": 5, "reorder_quantity": 50}))]
pub struct AlertRulesRequest {
    /// `low_stock` when `available` drops below it; `out_of_stock` at 0; `back_in_stock`
    /// when it is reached again.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 0, maximum = 1_000_000_000, example = 10)]
    pub low_stock_threshold: Field,
    /// `reorder` when `available` drops below it; needs `reorder_quantity`.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000_000)]
    pub reorder_point: Field,
    /// The quantity a `reorder` suggests; needs `reorder_point`.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000_000)]
    pub reorder_quantity: Field,
}

impl TryFrom<&AlertRulesRequest> for Rules {
    type Error = InvalidInput;

    fn try_from(body: &AlertRulesRequest) -> Result<Self, InvalidInput> {
        let level = |f: &Field, name: &str, min: u64| -> Result<Option<i64>, InvalidInput> {
            f.optional()
                .map(|v| whole_in(v, name, min..=1_000_000_000).map(|n| n as i64))
                .transpose()
        };
        let threshold = whole_in(
            body.low_stock_threshold.required("low_stock_threshold")?,
            "low_stock_threshold",
            0..=1_000_000_000,
        )?;
        let (point, quantity) = (
            level(&body.reorder_point, "reorder_point", 0)?,
            level(&body.reorder_quantity, "reorder_quantity", 1)?,
        );
        if point.is_some() != quantity.is_some() {
            return Err(InvalidInput::new(
                "give reorder_point and reorder_quantity together, or neither",
            ));
        }
        Ok(Rules {
            low_stock_threshold: Some(threshold as i64),
            reorder_point: point,
            reorder_quantity: quantity,
        })
    }
}
