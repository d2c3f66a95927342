use super::InvalidInput;
use std::fmt;

/// A stock-keeping unit name: 1–64 of `A-Z a-z 0-9 . _ -`.
///
/// The alphabet is what makes the key layout safe: no `:` to forge another key, no `{`/`}`
/// to escape the cluster hash tag, no `*`/`?`/`[` to widen a SCAN pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Sku(String);

/// The rule of [`Sku::parse`] for `/openapi.json`, so the spec states what parse checks.
impl utoipa::PartialSchema for Sku {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(Self::MAX_LEN))
            .pattern(Some("^[A-Za-z0-9._-]{1,64}$"))
            .description(Some("1-64 characters of A-Z a-z 0-9 . _ -"))
            .examples(["ps5"])
            .into()
    }
}

impl utoipa::ToSchema for Sku {}

impl Sku {
    /// Longest SKU accepted, in characters (all are ASCII, so also bytes).
    pub const MAX_LEN: usize = 64;

    /// Checks `raw` against the contract's alphabet and length.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.chars().all(ok_char) {
            return Err(InvalidInput::new("sku must be 1-64 characters of A-Z a-z 0-9 . _ -"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The SKU as text, for keys and JSON.
    pub fn as_str(&self) -> &str {
        &self.0
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
            "", "a:b", "{a}", "a}", "a*", "a?", "a b", " a", "a\n", "..:x", "ａ", "а", "a/b", "a\u{0}", "é", &long,
        ] {
            assert!(Sku::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
