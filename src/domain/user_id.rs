use super::InvalidInput;

/// Who is buying: 1–128 characters, none of them control characters (they would corrupt
/// logs and terminals that display it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(value_type = String, example = "alice")]
#[serde(transparent)]
pub struct UserId(String);

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
