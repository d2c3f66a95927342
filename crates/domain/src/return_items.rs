//! What a return asks for: which lines of an order come back, how many, and where they go.

use super::items::{checked_lines, parse_lines, sku_and_quantity};
use super::{Disposition, Field, InvalidInput, Location, Quantity, Sku};
use serde::Deserialize;

// The type behind both `ReturnItems::parse` and the OpenAPI schema, so the two cannot drift.
/// One line of a return.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"sku": "ps5", "quantity": 1, "disposition": "restock"})))]
pub struct ReturnLineRequest {
    /// A SKU of the order; each may appear once per return.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Sku, required = true))]
    pub sku: Field,
    /// Units coming back.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = u32, required = true, minimum = 1, maximum = 1_000_000, example = 1))]
    pub quantity: Field,
    /// `restock` (default): `available` again; `damaged`: counted in `damaged`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Disposition>))]
    pub disposition: Field,
    /// Where the units go; by default the location they were sold from.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Location>))]
    pub location: Field,
}

/// One checked line of a return.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReturnItem {
    /// The order's SKU.
    pub sku: Sku,
    /// How many units.
    pub quantity: Quantity,
    /// Where they go.
    pub disposition: Disposition,
    /// The location named, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A checked return: 1..=100 lines, no SKU twice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ReturnItems(Vec<ReturnItem>);

impl ReturnItems {
    /// Most lines one return may hold (an order has at most as many).
    pub const MAX_LINES: usize = 100;

    /// Parses the `lines` array of a request body, each line through [`ReturnLineRequest`].
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self, InvalidInput> {
        parse_lines(
            value,
            "lines",
            Self::MAX_LINES,
            ReturnLineRequest::parse,
            |l: &ReturnItem| &l.sku,
        )
        .map(Self)
    }

    /// A return built in Rust (the client's way), under the same rules as a body's.
    pub fn new(items: Vec<ReturnItem>) -> Result<Self, InvalidInput> {
        checked_lines(items, "lines", Self::MAX_LINES, |l| &l.sku).map(Self)
    }

    /// The lines.
    pub fn lines(&self) -> &[ReturnItem] {
        &self.0
    }
}

impl ReturnLineRequest {
    fn parse(&self, i: usize) -> Result<ReturnItem, InvalidInput> {
        let within = |e: InvalidInput| e.within(format_args!("lines[{i}]"));
        let (sku, quantity) = sku_and_quantity(&self.sku, &self.quantity).map_err(within)?;
        Ok(ReturnItem {
            sku,
            quantity,
            disposition: Disposition::parse_optional(self.disposition.get(), "disposition").map_err(within)?,
            location: Location::parse_optional(self.location.get(), "location").map_err(within)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_are_checked_and_named() {
        let ok = ReturnItems::parse(Some(&json!([
            {"sku": "ps5", "quantity": 2},
            {"sku": "pad", "quantity": 1, "disposition": "damaged", "location": "east"},
            {"sku": "cap", "quantity": 1, "disposition": null, "location": null}
        ])))
        .unwrap();
        assert_eq!(ok.lines()[2].disposition, Disposition::Restock, "null is the default");
        assert_eq!(ok.lines()[0].disposition, Disposition::Restock);
        assert_eq!(ok.lines()[1].disposition, Disposition::Damaged);
        assert_eq!(ok.lines()[1].location.as_ref().unwrap().as_str(), "east");
        for (bad, says) in [
            (json!([]), "lines must"),
            (json!([{"sku": "ps5", "quantity": 0}]), "lines[0].quantity"),
            (
                json!([{"sku": "ps5", "quantity": 1, "disposition": "lost"}]),
                "lines[0].disposition",
            ),
            (
                json!([{"sku": "a", "quantity": 1}, {"sku": "a", "quantity": 1}]),
                "appears twice",
            ),
            (json!([[1, 2]]), "lines[0] must be an object"),
        ] {
            let e = ReturnItems::parse(Some(&bad)).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }
}
