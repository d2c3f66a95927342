//! An order's life after its sale: where it stands ([`OrderStatus`]) and where a unit that
//! comes back goes ([`Disposition`]).

use serde::{Deserialize, Serialize};

/// Where an order is in its life. Derived from its returns, never stored on its own, so it
/// cannot disagree with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Sold; nothing came back.
    Placed,
    /// Cancelled whole: every unit went back.
    Cancelled,
    /// Some units were returned.
    PartiallyReturned,
    /// Every unit was returned.
    Returned,
}

impl OrderStatus {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Cancelled => "cancelled",
            Self::PartiallyReturned => "partially_returned",
            Self::Returned => "returned",
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a unit that comes back from an order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Back on the shelf: `available` again.
    #[default]
    Restock,
    /// Counted in `damaged`, never sold, until inspected or written off.
    Damaged,
}

impl Disposition {
    /// The contract's names.
    pub const ALL: [&'static str; 2] = ["restock", "damaged"];

    /// Parses one of [`Self::ALL`].
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "restock" => Some(Self::Restock),
            "damaged" => Some(Self::Damaged),
            _ => None,
        }
    }

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restock => "restock",
            Self::Damaged => "damaged",
        }
    }

    /// An optional `field` of a body: absent or `null` means `restock`.
    pub fn parse_optional(value: Option<&serde_json::Value>, field: &str) -> Result<Self, crate::InvalidInput> {
        match value {
            None | Some(serde_json::Value::Null) => Ok(Self::default()),
            Some(v) => v
                .as_str()
                .and_then(Self::parse)
                .ok_or_else(|| crate::InvalidInput::new(format!("{field} must be one of {}", Self::ALL.join(", ")))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Disposition::ALL {
            let d = Disposition::parse(name).unwrap();
            assert_eq!(d.as_str(), name);
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(Disposition::parse("Restock"), None);
        assert_eq!(
            serde_json::to_string(&OrderStatus::PartiallyReturned).unwrap(),
            "\"partially_returned\""
        );
    }
}
