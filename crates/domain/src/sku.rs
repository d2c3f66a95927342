use super::InvalidInput;
use std::fmt;

/// A stock-keeping unit name: 1–64 of `A-Z a-z 0-9 . _ -`, but not `.` or `..` (a client
/// that normalises URLs turns `/v1/skus/..` into another path, so such a SKU could never
/// be reached).
///
/// The alphabet is what makes the key layout safe: no `:` to forge another key, no `{`/`}`
/// to escape the cluster hash tag, no `*`/`?`/`[` to widen a SCAN pattern.
///
/// Stored records (orders, reservations, events) read back through the same rule, so a
/// `Sku` that came out of Redis is as checked as one that came from a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Sku(String);

/// The rule of [`Sku::parse`] for `/openapi.json`, so the spec states what parse checks.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Sku {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(Self::MAX_LEN))
            .pattern(Some(NAME_PATTERN))
            .description(Some("1-64 characters of A-Z a-z 0-9 . _ -, not . or .."))
            .examples(["ps5"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Sku {}

/// The SKU (and location) rule as a JSON Schema pattern, without look-arounds so that every
/// schema tool can generate from it: a first character that is not a dot, or one or two
/// dots followed by more.
#[cfg(feature = "openapi")]
pub(super) const NAME_PATTERN: &str =
    r"^([A-Za-z0-9_-][A-Za-z0-9._-]{0,63}|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,62}|\.\.[A-Za-z0-9._-]{1,62})$";

impl Sku {
    /// Longest SKU accepted, in characters (all are ASCII, so also bytes).
    pub const MAX_LEN: usize = 64;

    /// Checks `raw` against the contract's alphabet and length.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Self::check(raw)?;
        Ok(Self(raw.to_owned()))
    }

    fn check(raw: &str) -> Result<(), InvalidInput> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.chars().all(ok_char) || matches!(raw, "." | "..") {
            return Err(InvalidInput::new(
                "sku must be 1-64 characters of A-Z a-z 0-9 . _ -, and not . or ..",
            ));
        }
        Ok(())
    }

    /// The SKU as text, for keys and JSON.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = InvalidInput;

    fn try_from(raw: String) -> Result<Self, InvalidInput> {
        Self::check(&raw)?;
        Ok(Self(raw))
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> Self {
        sku.0
    }
}

impl<'de> serde::Deserialize<'de> for Sku {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(de)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_contract_alphabet() {
        for ok in ["a", "PS5", "sku-1.b_2", &"x".repeat(64)] {
            assert_eq!(Sku::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_anything_that_could_reach_another_key() {
        let long = "x".repeat(65);
        for bad in [
            "", "a:b", "{a}", "a}", "a*", "a?", "a b", " a", "a\n", "..:x", "ａ", "а", "a/b", "a\u{0}", "é", ".", "..",
            &long,
        ] {
            assert!(Sku::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
