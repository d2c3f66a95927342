//! Scanner batches: receipts, counts and transfers, each applied once under the scanner's id.

use crate::call::Call;
use crate::model::Stock;
use crate::{Client, Error, Refusal};
use reqwest::Method;
use serde_json::{Value, json};
use stockwatch_domain::{Correction, IdempotencyKey, Location, Quantity, Reason, Sku};

/// One scan of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The scanner's own id for it: a scan resent under its id is applied once.
    pub id: IdempotencyKey,
    /// The SKU.
    pub sku: Sku,
    /// What it records.
    pub change: Change,
}

/// What a scan records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A delivery, at `location` (`default` when `None`).
    Receive {
        /// Units received.
        quantity: Quantity,
        /// Where.
        location: Option<Location>,
    },
    /// A count at one location.
    Adjust {
        /// Where.
        location: Location,
        /// What it found.
        correction: Correction,
        /// Why it differs.
        reason: Reason,
    },
    /// Units moved between locations.
    Transfer {
        /// From here.
        from: Location,
        /// To here.
        to: Location,
        /// Units.
        quantity: Quantity,
    },
}

/// How one scan went.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanResult {
    /// Its place in the batch.
    pub row: usize,
    /// The stock after it, or why it was refused (it then changed nothing).
    pub outcome: Result<Stock, Refusal>,
}

impl Scan {
    fn to_json(&self) -> Value {
        let mut row = json!({"id": self.id.as_str(), "sku": self.sku});
        let fields = match &self.change {
            Change::Receive { quantity, location } => {
                json!({"kind": "receive", "quantity": quantity, "location": location})
            }
            Change::Adjust {
                location,
                correction,
                reason,
            } => {
                let mut adjust = json!({"kind": "adjust", "location": location, "reason": reason});
                match correction {
                    Correction::Counted(n) => adjust["counted"] = json!(n),
                    Correction::Delta(d) => adjust["delta"] = json!(d),
                }
                adjust
            }
            Change::Transfer { from, to, quantity } => {
                json!({"kind": "transfer", "from": from, "to": to, "quantity": quantity})
            }
        };
        let (Value::Object(row_fields), Value::Object(extra)) = (&mut row, fields) else {
            unreachable!("both are objects")
        };
        row_fields.extend(extra.into_iter().filter(|(_, v)| !v.is_null()));
        row
    }
}

impl Client {
    /// `POST /v1/movements` (admin): up to 500 scans, each applied once under its id. The
    /// batch as a whole is retried like any keyed call (each row carries its own key).
    pub async fn record_scans(&self, scans: &[Scan]) -> Result<Vec<ScanResult>, Error> {
        let body = json!({"rows": scans.iter().map(Scan::to_json).collect::<Vec<_>>()});
        let answer: Value = self
            .json(Call::keyed(Method::POST, &["v1", "movements"]).body(body))
            .await?;
        let unexpected = |message: String| Error::Unexpected { status: 200, message };
        let rows = answer["results"]
            .as_array()
            .ok_or_else(|| unexpected("no results".into()))?;
        rows.iter()
            .map(|r| {
                let row = r["row"].as_u64().and_then(|n| usize::try_from(n).ok());
                let status = r["status"].as_u64().and_then(|n| u16::try_from(n).ok());
                let (Some(row), Some(status)) = (row, status) else {
                    return Err(unexpected(format!("a result without row or status: {r}")));
                };
                let outcome = match status {
                    200 => Ok(serde_json::from_value(r["stock"].clone()).map_err(|e| unexpected(e.to_string()))?),
                    _ => {
                        let mut fields = r.as_object().cloned().unwrap_or_default();
                        fields.retain(|k, _| !matches!(k.as_str(), "row" | "id" | "status"));
                        Err(Refusal::from_fields(status, fields, None))
                    }
                };
                Ok(ScanResult { row, outcome })
            })
            .collect()
    }
}
