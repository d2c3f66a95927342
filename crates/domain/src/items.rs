use super::{Field, InvalidInput, Location, Quantity, Sku};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;

// The type behind both `CartItems::parse` and the OpenAPI schema, so the two cannot drift.
/// One line of a cart.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"sku": "ps5", "quantity": 1})))]
pub struct CartLine {
    /// The SKU; each may appear once per cart.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Sku, required = true))]
    pub sku: Field,
    /// Units.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = u32, required = true, minimum = 1, maximum = 1_000_000, example = 1))]
    pub quantity: Field,
    /// Pins the line to one of the SKU's locations; without it, the line is drawn from the
    /// locations in priority order.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Location>))]
    pub location: Field,
}

impl CartLine {
    /// The line as line `i` of a cart; errors name `items[i].<field>`.
    fn parse(&self, i: usize) -> Result<CartItem, InvalidInput> {
        let within = |e: InvalidInput| e.within(format_args!("items[{i}]"));
        let (sku, quantity) = sku_and_quantity(&self.sku, &self.quantity).map_err(within)?;
        let location = Location::parse_optional(self.location.get(), "location").map_err(within)?;
        Ok(CartItem {
            sku,
            quantity,
            location,
        })
    }
}

/// The `sku` and `quantity` of a line, for carts and returns; errors name the field alone
/// (the caller puts the line in front: [`InvalidInput::within`]).
pub(crate) fn sku_and_quantity(sku: &Field, quantity: &Field) -> Result<(Sku, Quantity), InvalidInput> {
    let sku = sku
        .get()
        .and_then(|s| s.as_str())
        .ok_or_else(|| InvalidInput::new("sku must be a string"))
        .and_then(Sku::parse)?;
    let quantity = Quantity::parse(quantity.get().unwrap_or(&serde_json::Value::Null), "quantity")?;
    Ok((sku, quantity))
}

/// The lines of a request body's array `field`, for carts and returns alike: 1 to `max`
/// objects, each read as `L` and checked by `check` (given its index), no SKU twice. Errors
/// name `field[i].<name>`.
pub(crate) fn parse_lines<L: DeserializeOwned, T>(
    value: Option<&serde_json::Value>,
    field: &str,
    max: usize,
    check: impl Fn(&L, usize) -> Result<T, InvalidInput>,
    sku: impl Fn(&T) -> &Sku,
) -> Result<Vec<T>, InvalidInput> {
    let lines = value
        .and_then(|v| v.as_array())
        .filter(|a| (1..=max).contains(&a.len()))
        .ok_or_else(|| InvalidInput::new(format!("{field} must be an array of 1-{max} {{sku, quantity}} objects")))?;
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        // An array would deserialize into the struct by position: only objects are lines.
        let line = Some(line)
            .filter(|l| l.is_object())
            .and_then(|l| L::deserialize(l).ok())
            .ok_or_else(|| InvalidInput::new(format!("{field}[{i}] must be an object")))?;
        let item = check(&line, i)?;
        if !seen.insert(sku(&item).clone()) {
            return Err(InvalidInput::new(format!(
                "{field}[{i}].sku {} appears twice",
                sku(&item)
            )));
        }
        checked.push(item);
    }
    Ok(checked)
}

/// Lines built in Rust, under [`parse_lines`]'s rules: 1 to `max`, no SKU twice.
pub(crate) fn checked_lines<T>(
    lines: Vec<T>,
    field: &str,
    max: usize,
    sku: impl Fn(&T) -> &Sku,
) -> Result<Vec<T>, InvalidInput> {
    if !(1..=max).contains(&lines.len()) {
        return Err(InvalidInput::new(format!("{field} must hold 1-{max} lines")));
    }
    let mut seen = HashSet::new();
    if let Some((i, line)) = lines.iter().enumerate().find(|(_, l)| !seen.insert(sku(l))) {
        return Err(InvalidInput::new(format!(
            "{field}[{i}].sku {} appears twice",
            sku(line)
        )));
    }
    Ok(lines)
}

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CartItem {
    /// What is bought.
    pub sku: Sku,
    /// How many.
    pub quantity: Quantity,
    /// The one location to draw from, if the client pinned it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl CartItem {
    /// A line drawn from the SKU's locations in priority order.
    pub fn new(sku: Sku, quantity: Quantity) -> Self {
        Self {
            sku,
            quantity,
            location: None,
        }
    }

    /// The line pinned to one location.
    pub fn at(self, location: Location) -> Self {
        Self {
            location: Some(location),
            ..self
        }
    }
}

/// A validated cart: 1..=100 lines, no SKU twice (a duplicate would make "how much is
/// short" ambiguous and let one SKU be checked twice against the same stock).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct CartItems(Vec<CartItem>);

impl CartItems {
    /// Most lines one cart may hold.
    pub const MAX_LINES: usize = 100;

    /// Parses the `items` array of a request body, each line through [`CartLine`].
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self, InvalidInput> {
        parse_lines(value, "items", Self::MAX_LINES, CartLine::parse, |l: &CartItem| &l.sku).map(Self)
    }

    /// A cart of lines built in Rust (the client's way), under the same rules as a body's.
    pub fn new(lines: Vec<CartItem>) -> Result<Self, InvalidInput> {
        checked_lines(lines, "items", Self::MAX_LINES, |l| &l.sku).map(Self)
    }

    /// A one-line cart, which is what a single-SKU purchase is.
    pub fn single(sku: Sku, quantity: Quantity) -> Self {
        Self::single_at(sku, quantity, None)
    }

    /// A one-line cart, pinned to `location` when given.
    pub fn single_at(sku: Sku, quantity: Quantity, location: Option<Location>) -> Self {
        Self(vec![CartItem {
            sku,
            quantity,
            location,
        }])
    }

    /// The lines at `indexes` (each a valid index), as a cart of their own: one slot's share
    /// of a cart that spans slots.
    pub fn subset(&self, indexes: &[usize]) -> Self {
        Self(indexes.iter().map(|&i| self.0[i].clone()).collect())
    }

    /// The lines, in request order.
    pub fn lines(&self) -> &[CartItem] {
        &self.0
    }

    /// Each line's quantity, in request order.
    pub fn quantities(&self) -> Vec<i64> {
        self.0.iter().map(|l| l.quantity.get()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_cart() {
        let cart = CartItems::parse(Some(&json!([
            {"sku": "a", "quantity": 1, "extra": true},
            {"sku": "b", "quantity": 3}
        ])))
        .unwrap();
        assert_eq!(cart.lines().len(), 2);
        assert_eq!(cart.lines()[1].quantity.get(), 3);
        let pinned = CartItems::parse(Some(&json!([{"sku": "a", "quantity": 1, "location": "east"}]))).unwrap();
        assert_eq!(pinned.lines()[0].location.as_ref().unwrap().as_str(), "east");
    }

    #[test]
    fn refuses_bad_carts_naming_the_field() {
        let too_many: Vec<_> = (0..101)
            .map(|i| json!({"sku": format!("s{i}"), "quantity": 1}))
            .collect();
        let cases = [
            (json!([]), "items"),
            (json!({}), "items"),
            (json!(too_many), "items"),
            (
                json!([{"sku": "a", "quantity": 1}, {"sku": "a", "quantity": 2}]),
                "twice",
            ),
            (json!([{"sku": "a:b", "quantity": 1}]), "items[0].sku"),
            (json!([{"sku": "a"}]), "items[0].quantity"),
            (json!([5]), "items[0]"),
            (
                json!([{"sku": "a", "quantity": 1, "location": "a@b"}]),
                "items[0].location",
            ),
            (json!([{"sku": "a", "quantity": 1, "location": 7}]), "items[0].location"),
        ];
        for (body, needle) in cases {
            let err = CartItems::parse(Some(&body)).unwrap_err();
            assert!(err.0.contains(needle), "{body}: {err}");
        }
        assert!(CartItems::parse(None).is_err());
        // The line's path goes in front of the field's own message, whole.
        let err = |body: serde_json::Value| CartItems::parse(Some(&body)).unwrap_err().0;
        assert_eq!(
            err(json!([{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 0}])),
            format!("items[1].quantity must be an integer from 1 to {}", Quantity::MAX)
        );
        assert_eq!(err(json!([{"sku": 5, "quantity": 1}])), "items[0].sku must be a string");
    }

    #[test]
    fn a_cart_built_in_rust_keeps_the_same_rules() {
        let line = |s: &str| CartItem::new(Sku::parse(s).unwrap(), Quantity::try_from(1).unwrap());
        assert_eq!(CartItems::new(vec![line("a"), line("b")]).unwrap().lines().len(), 2);
        assert!(CartItems::new(vec![]).is_err());
        assert!(
            CartItems::new(vec![line("a"), line("a")])
                .unwrap_err()
                .0
                .contains("twice")
        );
        assert!(CartItems::new((0..101).map(|i| line(&format!("s{i}"))).collect()).is_err());
        let east = Location::parse("east", "location").unwrap();
        assert_eq!(line("a").at(east.clone()).location, Some(east));
    }
}
