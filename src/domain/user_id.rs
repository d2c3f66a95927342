use super::InvalidInput;

/// Who is buying: 1–128 characters, none of them control characters (they would corrupt
/// logs and terminals that display it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

/// The rule of [`UserId::parse`] for `/openapi.json`.
impl utoipa::PartialSchema for UserId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(Self::MAX_CHARS))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]{1,128}$"))
            .description(Some("1-128 characters, no control characters"))
            .examples(["alice"])
            .into()
    }
}

impl utoipa::ToSchema for UserId {}

impl UserId {
    /// Longest user id accepted, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Checks length (in characters, not bytes) and refuses control characters.
    pub fn parse(value: &serde_json::Value) -> Result<Self, InvalidInput> {
        let err = || InvalidInput::new("user_id must be a string of 1-128 characters without control characters");
        let raw = value.as_str().ok_or_else(err)?;
        let chars = raw.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS || raw.chars().any(char::is_control) {
            return Err(err());
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_id_rules() {
        assert!(UserId::parse(&json!("alice")).is_ok());
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
        ] {
            assert!(UserId::parse(&bad).is_err(), "{bad}");
        }
    }
}
