//! One row of a catalog import or export: a SKU's level at one location, and optionally its
//! alert rules. `stockwatch import`, `POST /v1/skus/import` and `stockwatch export` share it,
//! so a file one writes the others read.

use crate::{Available, InvalidInput, Location, Priority, Sku, convert, whole_in};
use serde::Serialize;
use serde_json::{Map, Value};

/// Largest alert threshold, reorder point or reorder quantity (as `PUT …/alerts`).
const RULE_MAX: u64 = 1_000_000_000;

/// A checked row. Only `sku` and `available` are required. Rules a row leaves out stay as
/// they are; a row never removes a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogRow {
    /// The SKU, created when new.
    pub sku: Sku,
    /// Its level at `location` (by default, the SKU's `default` location), set as
    /// `PUT …/stock` sets it.
    pub available: Available,
    /// The location; created when new.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The location's draw priority (lower first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The SKU's `low_stock` threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_stock_threshold: Option<u32>,
    /// The SKU's reorder point; always with `reorder_quantity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<u32>,
    /// The quantity a reorder suggests; always with `reorder_point`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder_quantity: Option<u32>,
    /// The safety stock at `location` (v1.5): units of `available` never sold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_stock: Option<Available>,
}

impl CatalogRow {
    /// The columns a row may have, in the order a CSV export writes them.
    pub const COLUMNS: [&'static str; 8] = [
        "sku",
        "available",
        "location",
        "priority",
        "low_stock_threshold",
        "reorder_point",
        "reorder_quantity",
        "safety_stock",
    ];

    /// Checks a JSON object (an NDJSON line). An unknown field, a bad SKU or location, a
    /// level that is negative or not an integer, or a reorder pair half given is refused,
    /// the message naming the field. `null` is the same as leaving a field out.
    pub fn parse(row: &Value) -> Result<Self, InvalidInput> {
        let row = row
            .as_object()
            .ok_or_else(|| InvalidInput::new("a row must be a JSON object"))?;
        if let Some(unknown) = row.keys().find(|k| !Self::COLUMNS.contains(&k.as_str())) {
            return Err(InvalidInput::new(format!(
                "unknown column {unknown:?}; a row has {}",
                Self::COLUMNS.join(", ")
            )));
        }
        let given = |name: &str| row.get(name).filter(|v| !v.is_null());
        let rule = |name: &str, min: u64| {
            given(name)
                .map(|v| whole_in(v, name, min..=RULE_MAX).map(convert::u32_of))
                .transpose()
        };
        let sku = match given("sku") {
            Some(Value::String(s)) => Sku::parse(s)?,
            Some(_) => return Err(InvalidInput::new("sku must be a string")),
            None => return Err(InvalidInput::new("sku is required")),
        };
        let available = Available::parse(
            given("available").ok_or_else(|| InvalidInput::new("available is required"))?,
            "available",
        )?;
        let (reorder_point, reorder_quantity) = (rule("reorder_point", 0)?, rule("reorder_quantity", 1)?);
        if reorder_point.is_some() != reorder_quantity.is_some() {
            return Err(InvalidInput::new(
                "give reorder_point and reorder_quantity together, or neither",
            ));
        }
        Ok(Self {
            sku,
            available,
            location: Location::parse_optional(given("location"), "location")?,
            priority: given("priority").map(|v| Priority::parse(v, "priority")).transpose()?,
            low_stock_threshold: rule("low_stock_threshold", 0)?,
            reorder_point,
            reorder_quantity,
            safety_stock: given("safety_stock")
                .map(|v| Available::parse(v, "safety_stock"))
                .transpose()?,
        })
    }

    /// Checks one NDJSON line: strict JSON (a key given twice is refused, as in every body
    /// the API reads), then [`Self::parse`].
    pub fn from_line(line: &[u8]) -> Result<Self, InvalidInput> {
        let value = crate::strict_json(line).map_err(|e| InvalidInput::new(format!("not JSON: {e}")))?;
        Self::parse(&value)
    }

    /// Checks a CSV record under `header`. An empty cell is a field left out; a cell that
    /// reads as an integer is one, so `"-3"` is refused as a negative level, not as text.
    pub fn from_csv(header: &[String], record: &[String]) -> Result<Self, InvalidInput> {
        if record.len() != header.len() {
            return Err(InvalidInput::new(format!(
                "the row has {} cells but the header {}",
                record.len(),
                header.len()
            )));
        }
        let mut object = Map::new();
        for (name, cell) in header.iter().zip(record) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let value = match cell.parse::<i64>() {
                Ok(n) if name != "sku" && name != "location" => Value::from(n),
                _ => Value::from(cell),
            };
            object.insert(name.trim().to_owned(), value);
        }
        Self::parse(&Value::Object(object))
    }

    /// The row's cells in [`Self::COLUMNS`] order, empty where left out (a CSV record).
    pub fn to_csv(&self) -> [String; 8] {
        let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        [
            self.sku.to_string(),
            self.available.get().to_string(),
            self.location.as_ref().map(ToString::to_string).unwrap_or_default(),
            self.priority.map(|p| p.get().to_string()).unwrap_or_default(),
            opt(self.low_stock_threshold),
            opt(self.reorder_point),
            opt(self.reorder_quantity),
            self.safety_stock.map(|n| n.get().to_string()).unwrap_or_default(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(row: Value) -> String {
        CatalogRow::parse(&row).unwrap_err().0
    }

    #[test]
    fn a_row_is_checked_field_by_field() {
        let row = CatalogRow::parse(&json!({"sku": "ps5", "available": 7, "location": "east", "priority": 2,
            "low_stock_threshold": 3, "reorder_point": 2, "reorder_quantity": 10}))
        .unwrap();
        assert_eq!((row.sku.as_str(), row.available.get()), ("ps5", 7));
        assert_eq!(row.location.as_ref().map(Location::as_str), Some("east"));
        assert_eq!((row.reorder_point, row.reorder_quantity), (Some(2), Some(10)));
        assert!(refused(json!({"sku": "ps5", "available": 1, "colour": "red"})).contains("unknown column \"colour\""));
        assert!(refused(json!({"sku": "p:s", "available": 1})).starts_with("sku"));
        assert!(refused(json!({"sku": "ps5", "available": -1})).starts_with("available"));
        assert!(refused(json!({"sku": "ps5", "available": 1.5})).starts_with("available"));
        assert!(refused(json!({"sku": "ps5"})).contains("available is required"));
        assert!(refused(json!({"sku": "ps5", "available": 1, "reorder_point": 3})).contains("together"));
        assert!(refused(json!([1])).contains("object"));
        let twice = CatalogRow::from_line(br#"{"sku":"a","available":1,"available":900}"#).unwrap_err();
        assert!(twice.0.contains("twice"), "{twice}");
        let plain = CatalogRow::parse(&json!({"sku": "a", "available": 0, "location": null})).unwrap();
        assert_eq!(plain.location, None, "null is left out");
    }

    #[test]
    fn csv_cells_read_as_the_json_fields_and_write_back_the_same() {
        let header: Vec<String> = CatalogRow::COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        let cells = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let row = CatalogRow::from_csv(&header, &cells(&["007", "5", "east", "", "", "1", "4", "2"])).unwrap();
        assert_eq!(row.sku.as_str(), "007", "a SKU of digits stays text");
        assert_eq!(row.safety_stock.map(Available::get), Some(2));
        assert_eq!(
            row.to_csv().to_vec(),
            cells(&["007", "5", "east", "", "", "1", "4", "2"])
        );
        assert!(
            CatalogRow::from_csv(&header, &cells(&["a", "-3", "", "", "", "", "", ""]))
                .unwrap_err()
                .0
                .starts_with("available")
        );
        assert!(
            CatalogRow::from_csv(&header, &cells(&["a", "x", "", "", "", "", "", ""]))
                .unwrap_err()
                .0
                .starts_with("available")
        );
        assert!(
            CatalogRow::from_csv(&header, &cells(&["a"]))
                .unwrap_err()
                .0
                .contains("cells")
        );
    }
}
