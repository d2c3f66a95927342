//! `POST /v1/movements`: a scanner's batch of receipts, counts and transfers. The batch is
//! checked as a whole for its shape; each row is then checked on its own, so one bad scan
//! is refused in its row's result while the rows around it still land.

use super::stockroom::{AdjustmentRequest, NewAdjustment, NewTransfer, TransferRequest};
use super::{NewRestock, RestockRequest};
use crate::domain::{Field, IdempotencyKey, InvalidInput, Location, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most rows one batch may hold (the body's 64 KiB limit also applies).
pub const MAX_ROWS: usize = 500;

/// `POST /v1/movements`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"rows": [
    {"id": "dock-7:000123", "sku": "ps5", "kind": "receive", "quantity": 24, "location": "east"},
    {"id": "dock-7:000124", "sku": "ps5", "kind": "transfer", "from": "east", "to": "west", "quantity": 4},
    {"id": "aisle-3:000981", "sku": "pad", "kind": "adjust", "location": "west", "counted": 11, "reason": "cycle_count"}
]}))]
pub struct MovementBatchRequest {
    /// 1–500 rows, each an object with: `id`, the scanner's own id for the scan (1–128
    /// visible ASCII characters; a row resent under it is applied once and answered as the
    /// first time); `sku`, which must exist; `kind`, one of `receive` (with restock's
    /// `quantity` and optional `location`), `adjust` (with `location` and an adjustment's
    /// `counted` or `delta`, and `reason`) or `transfer` (with `from`, `to`, `quantity`).
    /// Each row is checked on its own: a bad one is refused in its result, not here. Rows of
    /// one SKU apply in order; rows of different SKUs are independent.
    #[serde(default)]
    #[schema(value_type = Vec<Object>, required = true, min_items = 1, max_items = 500)]
    pub rows: Field,
}

/// What one row does, checked.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scan {
    /// A delivery: units added, as a restock.
    Receive(NewRestock),
    /// A count at one location.
    Adjust {
        /// Where.
        location: Location,
        /// What it found, and why.
        #[serde(flatten)]
        adjustment: NewAdjustment,
    },
    /// Units moved between locations.
    Transfer(NewTransfer),
}

/// A checked row.
#[derive(Debug)]
pub struct ScanRow {
    /// The scanner's id: the row's idempotency key.
    pub id: IdempotencyKey,
    /// The SKU.
    pub sku: Sku,
    /// What it does.
    pub scan: Scan,
}

/// A row refused before it ran: where it was, its id when it had a usable one, and why.
#[derive(Debug)]
pub struct BadRow {
    /// Its id, when it gave a valid one.
    pub id: Option<String>,
    /// Why, naming `rows[i].<field>`.
    pub reason: InvalidInput,
}

/// Reads the batch: the shape of the whole is the request's; each row is its own result.
pub fn parse_batch(body: &MovementBatchRequest) -> Result<Vec<Result<ScanRow, BadRow>>, InvalidInput> {
    let rows = body
        .rows
        .required("rows")?
        .as_array()
        .filter(|rows| (1..=MAX_ROWS).contains(&rows.len()) && rows.iter().all(serde_json::Value::is_object))
        .ok_or_else(|| InvalidInput::new(format!("rows must be an array of 1 to {MAX_ROWS} objects")))?;
    Ok(rows.iter().enumerate().map(|(i, row)| ScanRow::parse(i, row)).collect())
}

impl ScanRow {
    fn parse(i: usize, row: &serde_json::Value) -> Result<Self, BadRow> {
        let named = |e: InvalidInput| InvalidInput::new(format!("rows[{i}]: {e}"));
        let text = |name: &str| row.get(name).and_then(serde_json::Value::as_str);
        let id = text("id")
            .and_then(|id| IdempotencyKey::parse(id.as_bytes()).ok())
            .ok_or_else(|| BadRow {
                id: None,
                reason: InvalidInput::new(format!("rows[{i}].id must be 1-128 visible ASCII characters")),
            })?;
        let bad = |reason: InvalidInput| BadRow {
            id: Some(id.as_str().to_owned()),
            reason: named(reason),
        };
        let sku = Sku::parse(text("sku").unwrap_or_default()).map_err(bad)?;
        let scan = match text("kind") {
            Some("receive") => Scan::Receive(read::<RestockRequest, NewRestock>(row).map_err(bad)?),
            Some("transfer") => Scan::Transfer(read::<TransferRequest, NewTransfer>(row).map_err(bad)?),
            Some("adjust") => Scan::Adjust {
                location: Location::parse_optional(row.get("location"), "location")
                    .and_then(|l| l.ok_or_else(|| InvalidInput::new("location is required")))
                    .map_err(bad)?,
                adjustment: read::<AdjustmentRequest, NewAdjustment>(row).map_err(bad)?,
            },
            _ => return Err(bad(InvalidInput::new("kind must be one of receive, adjust, transfer"))),
        };
        Ok(Self { id, sku, scan })
    }
}

/// A row read as the single endpoint's body `R`, then checked into `N` by the same rules.
fn read<R, N>(row: &serde_json::Value) -> Result<N, InvalidInput>
where
    R: serde::de::DeserializeOwned,
    N: for<'a> TryFrom<&'a R, Error = InvalidInput>,
{
    let body: R = R::deserialize(row).map_err(|e| InvalidInput::new(e.to_string()))?;
    N::try_from(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch(rows: serde_json::Value) -> Result<Vec<Result<ScanRow, BadRow>>, InvalidInput> {
        parse_batch(&serde_json::from_value(json!({ "rows": rows })).unwrap())
    }

    #[test]
    fn each_row_is_checked_on_its_own() {
        let rows = batch(json!([
            {"id": "a", "sku": "ps5", "kind": "receive", "quantity": 3},
            {"id": "b", "sku": "ps5", "kind": "adjust", "counted": 3, "reason": "lost"},
            {"id": "c", "sku": "ps5", "kind": "transfer", "from": "x", "to": "y", "quantity": 1},
            {"id": "d", "sku": "p:s", "kind": "receive", "quantity": 1},
            {"sku": "ps5", "kind": "receive", "quantity": 1},
            {"id": "f", "sku": "ps5", "kind": "sell", "quantity": 1},
            {"id": "g", "sku": "ps5", "kind": "adjust", "location": "x", "counted": 1, "delta": 1, "reason": "lost"},
        ]))
        .unwrap();
        assert!(matches!(
            rows[0],
            Ok(ScanRow {
                scan: Scan::Receive(_),
                ..
            })
        ));
        let reason = |i: usize| rows[i].as_ref().unwrap_err().reason.0.clone();
        assert!(reason(1).contains("rows[1]: location"), "{}", reason(1));
        assert!(matches!(
            rows[2],
            Ok(ScanRow {
                scan: Scan::Transfer(_),
                ..
            })
        ));
        assert!(reason(3).starts_with("rows[3]: sku"), "{}", reason(3));
        assert_eq!(rows[4].as_ref().unwrap_err().id, None);
        assert!(reason(5).contains("kind"));
        assert!(reason(6).contains("exactly one"));
        assert!(batch(json!([])).is_err() && batch(json!({})).is_err() && batch(json!([1])).is_err());
    }
}
