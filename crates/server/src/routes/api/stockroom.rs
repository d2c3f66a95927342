//! Request bodies of the stockroom: stock per location, transfers, counted adjustments.
//! Same rules as `super::requests`: raw [`Field`]s, converted with `TryFrom` through the
//! domain types' `parse`, errors naming the field.

use crate::domain::Adjusted;
use crate::domain::{Available, Field, InvalidInput, Location, Priority, Quantity, whole_in};
use crate::ops::{Correction, Reason};
use serde::Deserialize;
use utoipa::ToSchema;

/// `PUT /v1/skus/{sku}/locations/{location}/stock`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"available": 40, "priority": 1}))]
pub struct SetLocationStockRequest {
    /// The new `available` at this location.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 0, maximum = 1_000_000_000, example = 40)]
    pub available: Field,
    /// Draw order: lower first. Absent: unchanged, or last for a new location.
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    pub priority: Field,
    /// Units of it never sold (v1.5); absent: unchanged.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000_000, example = 5)]
    pub safety_stock: Field,
}

/// A checked location stock setting.
#[derive(Debug, serde::Serialize)]
pub struct NewLocationStock {
    /// The new level.
    pub available: Available,
    /// The new priority, if given.
    pub priority: Option<Priority>,
    /// The new safety stock, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_stock: Option<Available>,
}

impl TryFrom<&SetLocationStockRequest> for NewLocationStock {
    type Error = InvalidInput;

    fn try_from(body: &SetLocationStockRequest) -> Result<Self, InvalidInput> {
        Ok(Self {
            available: Available::parse(body.available.required("available")?, "available")?,
            priority: body
                .priority
                .optional()
                .map(|v| Priority::parse(v, "priority"))
                .transpose()?,
            safety_stock: super::requests::safety(&body.safety_stock)?,
        })
    }
}

/// `POST /v1/skus/{sku}/transfers`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"from": "east", "to": "west", "quantity": 5}))]
pub struct TransferRequest {
    /// The location the units leave.
    #[serde(default)]
    #[schema(value_type = Location, required = true)]
    pub from: Field,
    /// The location they arrive at; not `from`.
    #[serde(default)]
    #[schema(value_type = Location, required = true)]
    pub to: Field,
    /// Units to move.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 1_000_000, example = 5)]
    pub quantity: Field,
}

/// A checked transfer.
#[derive(Debug, serde::Serialize)]
pub struct NewTransfer {
    /// From here.
    pub from: Location,
    /// To here.
    pub to: Location,
    /// This many.
    pub quantity: Quantity,
}

fn location(field: &Field, name: &str) -> Result<Location, InvalidInput> {
    let value = field.required(name)?;
    let text = value
        .as_str()
        .ok_or_else(|| InvalidInput::new(format!("{name} must be a string")))?;
    Location::parse(text, name)
}

impl TryFrom<&TransferRequest> for NewTransfer {
    type Error = InvalidInput;

    fn try_from(body: &TransferRequest) -> Result<Self, InvalidInput> {
        let from = location(&body.from, "from")?;
        let to = location(&body.to, "to")?;
        if from == to {
            return Err(InvalidInput::new("from and to must be different locations"));
        }
        Ok(Self {
            from,
            to,
            quantity: Quantity::parse(body.quantity.required("quantity")?, "quantity")?,
        })
    }
}

/// `POST /v1/skus/{sku}/locations/{location}/adjustments`: exactly one of `counted` and
/// `delta`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"counted": 37, "reason": "cycle_count"}))]
pub struct AdjustmentRequest {
    /// What a physical count found available here.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000_000)]
    pub counted: Field,
    /// Units that appeared (positive) or went (negative), instead of `counted`.
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub delta: Field,
    /// Why: `cycle_count`, `damaged`, `lost`, `found`, or `inspected` (damaged units back on
    /// sale: only with `"counter": "damaged"`).
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "cycle_count")]
    pub reason: Field,
    /// The counter counted or corrected: `available` (default) or `damaged` (v1.5).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "available")]
    pub counter: Field,
}

/// A checked adjustment.
#[derive(Debug, serde::Serialize)]
pub struct NewAdjustment {
    /// Counted or a difference.
    pub correction: Correction,
    /// Why.
    pub reason: Reason,
    /// Which counter. Left out of the idempotency fingerprint when it is the default, so a
    /// key first used before v1.5 still matches its request.
    #[serde(skip_serializing_if = "is_available")]
    pub of: Adjusted,
}

fn is_available(of: &Adjusted) -> bool {
    *of == Adjusted::Available
}

impl TryFrom<&AdjustmentRequest> for NewAdjustment {
    type Error = InvalidInput;

    fn try_from(body: &AdjustmentRequest) -> Result<Self, InvalidInput> {
        let correction = match (body.counted.optional(), body.delta.optional()) {
            (Some(n), None) => Correction::Counted(Available::parse(n, "counted")?.get()),
            (None, Some(d)) => Correction::Delta(signed(d, "delta")?),
            _ => return Err(InvalidInput::new("give exactly one of counted and delta")),
        };
        let reason = body
            .reason
            .required("reason")?
            .as_str()
            .and_then(Reason::parse)
            .ok_or_else(|| InvalidInput::new(format!("reason must be one of {}", Reason::ALL.join(", "))))?;
        let of = match body.counter.optional() {
            None | Some(serde_json::Value::Null) => Adjusted::default(),
            Some(v) => v
                .as_str()
                .and_then(Adjusted::parse)
                .ok_or_else(|| InvalidInput::new(format!("counter must be one of {}", Adjusted::ALL.join(", "))))?,
        };
        if reason == Reason::Inspected && of != Adjusted::Damaged {
            return Err(InvalidInput::new(
                "reason inspected puts damaged units back on sale: it needs counter damaged",
            ));
        }
        Ok(Self { correction, reason, of })
    }
}

/// A whole number in ±1e9.
fn signed(value: &serde_json::Value, name: &str) -> Result<i64, InvalidInput> {
    let magnitude =
        |v: &serde_json::Value| whole_in(v, name, 0..=u64::from(Available::MAX)).map(crate::convert::i64_of);
    match value.as_f64() {
        Some(f) if f < 0.0 => magnitude(&serde_json::json!(-f)).map(|n| -n),
        _ => magnitude(value),
    }
    .map_err(|_| InvalidInput::new(format!("{name} must be an integer from -1000000000 to 1000000000")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn adjustment(body: serde_json::Value) -> Result<NewAdjustment, InvalidInput> {
        NewAdjustment::try_from(&AdjustmentRequest::deserialize(body).unwrap())
    }

    #[test]
    fn an_adjustment_is_a_count_or_a_difference_with_a_reason() {
        let counted = adjustment(json!({"counted": 3, "reason": "cycle_count"})).unwrap();
        assert_eq!(counted.correction, Correction::Counted(3));
        let lost = adjustment(json!({"delta": -2, "reason": "lost"})).unwrap();
        assert_eq!(lost.correction, Correction::Delta(-2));
        assert_eq!(lost.reason, Reason::Lost);
        for bad in [
            json!({"reason": "lost"}),
            json!({"counted": 1, "delta": 1, "reason": "lost"}),
            json!({"counted": -1, "reason": "lost"}),
            json!({"delta": 1.5, "reason": "found"}),
            json!({"delta": -2_000_000_000i64, "reason": "found"}),
            json!({"delta": 1, "reason": "stolen"}),
            json!({"delta": 1}),
        ] {
            assert!(adjustment(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_transfer_names_two_different_locations() {
        let parse = |b: serde_json::Value| NewTransfer::try_from(&TransferRequest::deserialize(b).unwrap());
        assert!(parse(json!({"from": "a", "to": "b", "quantity": 1})).is_ok());
        for bad in [
            json!({"from": "a", "to": "a", "quantity": 1}),
            json!({"from": "a", "quantity": 1}),
            json!({"from": "a@x", "to": "b", "quantity": 1}),
            json!({"from": "a", "to": "b", "quantity": 0}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
