#[cfg(feature = "openapi")]
use super::sku::NAME_PATTERN;
use super::{InvalidInput, Sku, whole_in};
use crate::convert;
use std::fmt;

/// A stock location (a warehouse, a store, a shelf) of one SKU: the same 1–64 characters of
/// `A-Z a-z 0-9 . _ -` as a SKU.
///
/// The alphabet keeps a location inside its SKU's hash: it becomes part of a field name
/// (`available@east`) and of the `locs` list, so it must never hold the `@` or `,` that
/// separate them, nor anything a key could be forged from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Location(String);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Location {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(Sku::MAX_LEN))
            .pattern(Some(NAME_PATTERN))
            .description(Some("1-64 characters of A-Z a-z 0-9 . _ -, not . or .."))
            .examples(["east"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Location {}

impl Location {
    /// The implicit location of every SKU: what the v1 stock endpoints act on, and where a
    /// SKU that never had a location keeps all its stock.
    pub const DEFAULT: &'static str = "default";

    /// Checks `raw` against the SKU alphabet and length; `field` names it in the error.
    pub fn parse(raw: &str, field: &str) -> Result<Self, InvalidInput> {
        Sku::parse(raw).map(|s| Self(s.as_str().to_owned())).map_err(|_| {
            InvalidInput::new(format!(
                "{field} must be 1-64 characters of A-Z a-z 0-9 . _ -, and not . or .."
            ))
        })
    }

    /// Parses an optional JSON field: absent or `null` is `None`, anything else must be a
    /// valid location string.
    pub fn parse_optional(value: Option<&serde_json::Value>, field: &str) -> Result<Option<Self>, InvalidInput> {
        match value {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Self::parse(s, field).map(Some),
            Some(_) => Err(InvalidInput::new(format!("{field} must be a string"))),
        }
    }

    /// The implicit location.
    pub fn default_location() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// Whether this is the implicit location, whose counters are the SKU's totals less
    /// every named location's.
    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }

    /// The location as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Stored allocations read back through the same rule.
impl<'de> serde::Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(de)?;
        Self::parse(&raw, "location").map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The order in which a SKU's locations are drawn from: lower first, 0..=1_000_000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = u32, minimum = 0, maximum = 1_000_000, example = 1))]
#[serde(transparent)]
pub struct Priority(u32);

impl Priority {
    /// Largest priority accepted.
    pub const MAX: u32 = 1_000_000;

    /// Accepts a JSON integer in range; `field` names it in the error.
    pub fn parse(value: &serde_json::Value, field: &str) -> Result<Self, InvalidInput> {
        whole_in(value, field, 0..=u64::from(Self::MAX)).map(|n| Self(convert::u32_of(n)))
    }

    /// The priority as a counter value.
    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<u32> for Priority {
    type Error = InvalidInput;

    fn try_from(n: u32) -> Result<Self, InvalidInput> {
        Self::parse(&n.into(), "priority")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_location_follows_the_sku_rules() {
        assert_eq!(Location::parse("east-1", "location").unwrap().as_str(), "east-1");
        for bad in ["", "a@b", "a,b", "a:b", "{a}", "a b", &"x".repeat(65)] {
            let err = Location::parse(bad, "items[0].location").unwrap_err();
            assert!(err.0.starts_with("items[0].location"), "{bad:?}: {err}");
        }
        assert!(Location::parse("default", "l").unwrap().is_default());
    }

    #[test]
    fn an_optional_location_is_absent_null_or_valid() {
        assert_eq!(Location::parse_optional(None, "l").unwrap(), None);
        assert_eq!(Location::parse_optional(Some(&json!(null)), "l").unwrap(), None);
        assert!(Location::parse_optional(Some(&json!("east")), "l").unwrap().is_some());
        assert!(Location::parse_optional(Some(&json!(5)), "l").is_err());
        assert!(Location::parse_optional(Some(&json!("a@b")), "l").is_err());
    }

    #[test]
    fn priorities_are_small_whole_numbers() {
        assert_eq!(Priority::parse(&json!(3), "priority").unwrap().get(), 3);
        for bad in [json!(-1), json!(1.5), json!("1"), json!(1_000_001)] {
            assert!(Priority::parse(&bad, "priority").is_err(), "{bad}");
        }
    }
}
