use super::InvalidInput;

/// How many movements to list: `?limit=` from 1 to 1000, default 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(usize);

impl Limit {
    /// Used when the query names none.
    pub const DEFAULT: Self = Self(100);
    /// Most entries one page may hold.
    pub const MAX: usize = 1000;

    /// Parses the query value; absent gives the default.
    pub fn parse(raw: Option<&str>) -> Result<Self, InvalidInput> {
        let Some(raw) = raw else { return Ok(Self::DEFAULT) };
        match raw.parse::<usize>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(InvalidInput::new("limit must be an integer from 1 to 1000")),
        }
    }

    /// The count.
    pub fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<usize> for Limit {
    type Error = InvalidInput;

    fn try_from(n: usize) -> Result<Self, InvalidInput> {
        Self::parse(Some(&n.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_rules() {
        assert_eq!(Limit::parse(None).unwrap().get(), 100);
        assert_eq!(Limit::parse(Some("1000")).unwrap().get(), 1000);
        for bad in ["0", "1001", "-1", "ten", "", "1e3"] {
            assert!(Limit::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
