//! What an alert says happened: one closed set shared by the rules that raise alerts, the
//! API that lists them and the webhooks that subscribe to them.

use serde::{Deserialize, Serialize};

/// The type of an alert (`"type"` in its JSON), and what a webhook subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// `available` fell below the low-stock threshold.
    LowStock,
    /// `available` reached zero.
    OutOfStock,
    /// `available` rose back to the threshold.
    BackInStock,
    /// `available` fell below the reorder point.
    Reorder,
    /// The conflict rate on a SKU passed the contention threshold.
    Contention,
}

impl AlertKind {
    /// Every type, in the order the contract lists them.
    pub const ALL: [Self; 5] = [
        Self::LowStock,
        Self::OutOfStock,
        Self::BackInStock,
        Self::Reorder,
        Self::Contention,
    ];

    /// The name in alerts, webhook subscriptions and the alert streams.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LowStock => "low_stock",
            Self::OutOfStock => "out_of_stock",
            Self::BackInStock => "back_in_stock",
            Self::Reorder => "reorder",
            Self::Contention => "contention",
        }
    }

    /// The type named `name`, as [`AlertKind::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<AlertKind>(&json).unwrap(), kind);
        }
        assert_eq!(AlertKind::parse("LOW_STOCK"), None);
        assert!(serde_json::from_str::<AlertKind>("\"restock\"").is_err());
    }
}
