use super::InvalidInput;

/// The start of SKU names to list by (`GET /v1/skus?prefix=`): 1–64 characters of the SKU
/// alphabet. Unlike a [`super::Sku`] it may be `.` or `..`: it names no key, only a range of
/// names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuPrefix(String);

impl SkuPrefix {
    /// Checks the length and the alphabet.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(allowed) {
            return Err(InvalidInput::new("prefix must be 1-64 characters of A-Z a-z 0-9 . _ -"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_keeps_to_the_sku_alphabet() {
        assert_eq!(SkuPrefix::parse(".").unwrap().as_str(), ".");
        for bad in ["", "a b", "a:b", "a{b", "a*", &"x".repeat(65)] {
            assert!(SkuPrefix::parse(bad).is_err(), "{bad:?}");
        }
    }
}
