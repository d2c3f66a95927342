//! A purchase order's reference: the shop's own name for stock on its way (v1.5).

use super::{InvalidInput, Sku};
use std::fmt;

/// A purchase order's reference: the same 1–64 characters of `A-Z a-z 0-9 . _ -` as a SKU.
/// It names a field of the SKU's stock hash (`po:REF`) and appears in movements (`po=REF`),
/// so it must hold neither separators nor spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct PoRef(String);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for PoRef {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(Sku::MAX_LEN))
            .pattern(Some(super::sku::NAME_PATTERN))
            .description(Some("1-64 characters of A-Z a-z 0-9 . _ -, not . or .."))
            .examples(["PO-2026-0042"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for PoRef {}

impl PoRef {
    /// Checks `raw` against the SKU alphabet and length; `field` names it in the error.
    pub fn parse(raw: &str, field: &str) -> Result<Self, InvalidInput> {
        Sku::parse(raw).map(|s| Self(s.as_str().to_owned())).map_err(|_| {
            InvalidInput::new(format!(
                "{field} must be 1-64 characters of A-Z a-z 0-9 . _ -, and not . or .."
            ))
        })
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for PoRef {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(de)?;
        Self::parse(&raw, "ref").map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for PoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::PoRef;

    #[test]
    fn a_reference_keeps_to_the_sku_alphabet() {
        assert_eq!(
            PoRef::parse("PO-2026.0042_a", "ref").unwrap().as_str(),
            "PO-2026.0042_a"
        );
        for bad in ["", "po 1", "po:1", "po,1", "..", &"x".repeat(65)] {
            assert!(PoRef::parse(bad, "ref").is_err(), "{bad:?}");
        }
    }
}
