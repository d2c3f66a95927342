use serde::{Deserialize, Serialize};

/// Where a reservation is in its life. It starts `Active` and ends in exactly one of the
/// other three, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ReservationStatus {
    /// Holding stock until `expires_at`.
    Active,
    /// Paid: its units were sold and an order exists.
    Confirmed,
    /// Given back by the client.
    Cancelled,
    /// Lapsed: released by the expiry worker (or past `expires_at`, awaiting it).
    Expired,
}

impl ReservationStatus {
    /// The contract's spelling, as stored in the reservation hash.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Reads a stored status; anything else is corrupt data.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Active, Self::Confirmed, Self::Cancelled, Self::Expired]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

impl std::fmt::Display for ReservationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for s in ["active", "confirmed", "cancelled", "expired"] {
            assert_eq!(ReservationStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(ReservationStatus::parse("Active"), None);
        assert_eq!(
            serde_json::to_string(&ReservationStatus::Expired).unwrap(),
            "\"expired\""
        );
    }
}
