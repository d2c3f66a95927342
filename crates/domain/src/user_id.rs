use super::InvalidInput;

/// Who is buying: 1–128 characters, not all of them blank, none of them control or
/// invisible formatting characters (they would corrupt logs and terminals that display it,
/// or make two ids that look the same count as two customers).
///
/// Stored orders and reservations read back through the same rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct UserId(String);

/// The rule of [`UserId::parse`] for `/openapi.json`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for UserId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(Self::MAX_CHARS))
            .pattern(Some(pattern()))
            .description(Some(
                "1-128 characters, not all blank, no control or invisible formatting characters (zero-width, bidi controls, BOM)",
            ))
            .examples(["alice"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for UserId {}

impl UserId {
    /// Longest user id accepted, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Checks length (in characters, not bytes) and refuses control characters.
    pub fn parse(value: &serde_json::Value) -> Result<Self, InvalidInput> {
        let raw = value.as_str().ok_or_else(refusal)?;
        Self::check(raw)?;
        Ok(Self(raw.to_owned()))
    }

    fn check(raw: &str) -> Result<(), InvalidInput> {
        let chars = raw.chars().count();
        let bad = |c: char| c.is_control() || is_invisible(c);
        if chars == 0 || chars > Self::MAX_CHARS || raw.chars().all(char::is_whitespace) || raw.chars().any(bad) {
            return Err(refusal());
        }
        Ok(())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = InvalidInput;

    fn try_from(raw: String) -> Result<Self, InvalidInput> {
        Self::check(&raw)?;
        Ok(Self(raw))
    }
}

impl<'de> serde::Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(de)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refusal() -> InvalidInput {
    InvalidInput::new(
        "user_id must be a string of 1-128 characters, not all blank, without control or invisible characters",
    )
}

/// Unicode's format characters (general category Cf) and the other characters that draw
/// nothing: zero-width spaces and joiners, bidi embeddings, overrides and isolates, the
/// byte order mark, variation selectors, tag characters, and the Hangul and Braille blanks.
const INVISIBLE: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

fn is_invisible(c: char) -> bool {
    INVISIBLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// [`UserId::parse`]'s rule as a JSON Schema pattern (the length is checked apart): no
/// control or invisible character, and at least one that is not blank. Characters beyond
/// the Basic Multilingual Plane cannot be named in a pattern without flags, so the schema
/// lists the invisible ones of the BMP; `parse` refuses them all.
#[cfg(feature = "openapi")]
fn pattern() -> String {
    let mut class = String::from(r"\x00-\x1f\x7f-\x9f");
    for &(lo, hi) in INVISIBLE.iter().filter(|(_, hi)| u32::from(*hi) <= 0xFFFF) {
        class.push_str(&format!(r"\u{:04x}", u32::from(lo)));
        if hi != lo {
            class.push_str(&format!(r"-\u{:04x}", u32::from(hi)));
        }
    }
    format!(r"^[^{class}]*[^\s{class}][^{class}]*$")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_id_rules() {
        assert!(UserId::parse(&json!("alice")).is_ok());
        assert!(UserId::parse(&json!("Ana María")).is_ok(), "inner spaces are fine");
        assert!(UserId::parse(&json!("田中 太郎")).is_ok());
        assert!(
            UserId::parse(&json!("é".repeat(128))).is_ok(),
            "counts characters, not bytes"
        );
        for bad in [
            json!(""),
            json!("a\nb"),
            json!("\u{7f}"),
            json!("x".repeat(129)),
            json!(5),
            json!("   "),
            json!("\t"),
            json!("\u{3000}"),
            json!("\u{200b}"),
            json!("a\u{200b}b"),
            json!("\u{feff}"),
            json!("a\u{202e}b"),
            json!("a\u{2066}b"),
            json!("\u{e0041}"),
        ] {
            assert!(UserId::parse(&bad).is_err(), "{bad}");
        }
    }
}
