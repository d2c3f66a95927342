use super::InvalidInput;
use crate::convert;
use std::time::Duration;

/// How long a reservation holds stock: 1..=86_400 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct TtlSeconds(u32);

impl TtlSeconds {
    /// Default hold when the request names none (10 minutes, a typical payment window).
    pub const DEFAULT: Self = Self(600);
    /// Longest hold: a day.
    pub const MAX: u32 = 86_400;

    /// Accepts a JSON integer in range; `None` (field absent) gives the default.
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self, InvalidInput> {
        let Some(value) = value else { return Ok(Self::DEFAULT) };
        match super::whole_number(value) {
            Some(n) if (1..=u64::from(Self::MAX)).contains(&n) => Ok(Self(convert::u32_of(n))),
            _ => Err(InvalidInput::new("ttl_seconds must be an integer from 1 to 86400")),
        }
    }

    /// The hold as a duration.
    pub fn duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }
}

impl TryFrom<u32> for TtlSeconds {
    type Error = InvalidInput;

    fn try_from(n: u32) -> Result<Self, InvalidInput> {
        Self::parse(Some(&n.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ttl_rules() {
        assert_eq!(TtlSeconds::parse(None).unwrap(), TtlSeconds::DEFAULT);
        assert_eq!(
            TtlSeconds::parse(Some(&json!(86_400))).unwrap().duration().as_secs(),
            86_400
        );
        for bad in [json!(0), json!(86_401), json!("60"), json!(null)] {
            assert!(TtlSeconds::parse(Some(&bad)).is_err(), "{bad}");
        }
    }
}
