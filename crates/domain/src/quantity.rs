use super::{InvalidInput, whole_number};

/// How many units one line of an order moves: 1..=1_000_000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = u32, example = 1))]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    /// Largest quantity one request may move; keeps sums far from overflow.
    pub const MAX: u32 = 1_000_000;

    /// Accepts a JSON number only if it is an integer in range; `field` names it in the error.
    pub fn parse(value: &serde_json::Value, field: &str) -> Result<Self, InvalidInput> {
        match whole_number(value) {
            Some(n) if (1..=u64::from(Self::MAX)).contains(&n) => Ok(Self(crate::convert::u32_of(n))),
            _ => Err(InvalidInput::new(format!(
                "{field} must be an integer from 1 to {}",
                Self::MAX
            ))),
        }
    }

    /// The quantity as a signed integer, the type Redis counters use.
    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

/// An absolute stock level set by an admin: 0..=1_000_000_000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Available(u32);

impl Available {
    /// Largest settable stock level.
    pub const MAX: u32 = 1_000_000_000;

    /// Accepts a JSON integer in range; `field` names it in the error.
    pub fn parse(value: &serde_json::Value, field: &str) -> Result<Self, InvalidInput> {
        match whole_number(value) {
            Some(n) if n <= u64::from(Self::MAX) => Ok(Self(crate::convert::u32_of(n))),
            _ => Err(InvalidInput::new(format!(
                "{field} must be an integer from 0 to {}",
                Self::MAX
            ))),
        }
    }

    /// The level as a signed integer, the type Redis counters use.
    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

// Rust callers (the client crate, tests) hold plain integers; these go through the same
// rules as a JSON body's field.
impl TryFrom<u32> for Quantity {
    type Error = InvalidInput;

    fn try_from(n: u32) -> Result<Self, InvalidInput> {
        Self::parse(&n.into(), "quantity")
    }
}

impl TryFrom<u32> for Available {
    type Error = InvalidInput;

    fn try_from(n: u32) -> Result<Self, InvalidInput> {
        Self::parse(&n.into(), "available")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantity_bounds() {
        assert_eq!(Quantity::parse(&json!(1), "q").unwrap().get(), 1);
        assert_eq!(Quantity::parse(&json!(1_000_000), "q").unwrap().get(), 1_000_000);
        for bad in [
            json!(0),
            json!(-1),
            json!(1_000_001),
            json!(1.5),
            json!("1"),
            json!(null),
        ] {
            let err = Quantity::parse(&bad, "quantity").unwrap_err();
            assert!(err.0.contains("quantity"), "{bad}: {err}");
        }
    }

    #[test]
    fn available_bounds() {
        assert_eq!(Available::parse(&json!(0), "a").unwrap().get(), 0);
        assert_eq!(
            Available::parse(&json!(1_000_000_000), "a").unwrap().get(),
            1_000_000_000
        );
        for bad in [json!(-1), json!(1_000_000_001), json!(2.0e20), json!(true)] {
            assert!(Available::parse(&bad, "available").is_err(), "{bad}");
        }
    }
}
