//! The key layout: the only place that spells a Redis key.
//!
//! With prefix `sw` (the default):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `sw:sku:{SKU}` | hash | `available`, `reserved`, `sold`, `received` |
//! | `sw:sku:{SKU}:moves` | stream | movements of that SKU, capped by MAXLEN |
//! | `sw:order:ID` | string | the order as JSON |
//! | `sw:resv:ID` | hash | a reservation |
//! | `sw:expiry` | zset | active reservation ids scored by `expires_at` (ms) |
//! | `sw:idem:HASH` | string | a stored response for an `Idempotency-Key` |
//!
//! Every key of one SKU carries the hash tag `{SKU}`, so a single-SKU transaction stays in
//! one Redis Cluster slot. SKUs are validated ([`Sku`]) before they get here, so no input can
//! forge a `:` or `}` and reach a key it should not.

use crate::domain::{OrderId, ReservationId, Sku};
use sha2::{Digest, Sha256};

/// Builds every key from one validated prefix, so tests (and tenants) isolate by prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Accepts 1–64 characters of `A-Z a-z 0-9 . _ - :`; no glob or hash-tag characters,
    /// because the prefix ends up in SCAN patterns and beside hash tags.
    pub fn new(prefix: &str) -> Result<Self, String> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':');
        if prefix.is_empty() || prefix.len() > 64 || !prefix.chars().all(ok) {
            return Err(format!(
                "key prefix {prefix:?} must be 1-64 characters of A-Z a-z 0-9 . _ - :"
            ));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The stock counters of one SKU.
    pub fn stock(&self, sku: &Sku) -> String {
        format!("{}:sku:{{{sku}}}", self.prefix)
    }

    /// The movement stream of one SKU (same hash tag as its stock).
    pub fn movements(&self, sku: &Sku) -> String {
        format!("{}:sku:{{{sku}}}:moves", self.prefix)
    }

    /// A SCAN pattern matching every stock key and nothing else.
    pub fn stock_pattern(&self) -> String {
        format!("{}:sku:{{*}}", self.prefix)
    }

    /// Recovers the SKU from a stock key found by SCAN.
    pub fn sku_of_stock_key(&self, key: &str) -> Option<Sku> {
        let inner = key
            .strip_prefix(&self.prefix)?
            .strip_prefix(":sku:{")?
            .strip_suffix('}')?;
        Sku::parse(inner).ok()
    }

    /// One order.
    pub fn order(&self, id: &OrderId) -> String {
        format!("{}:order:{id}", self.prefix)
    }

    /// A SCAN pattern matching every order key.
    pub fn order_pattern(&self) -> String {
        format!("{}:order:*", self.prefix)
    }

    /// One reservation.
    pub fn reservation(&self, id: &ReservationId) -> String {
        format!("{}:resv:{id}", self.prefix)
    }

    /// A SCAN pattern matching every reservation key.
    pub fn reservation_pattern(&self) -> String {
        format!("{}:resv:*", self.prefix)
    }

    /// The expiry index of active reservations.
    pub fn expiry(&self) -> String {
        format!("{}:expiry", self.prefix)
    }

    /// A stored idempotent response. The client's key is hashed, so whatever visible ASCII it
    /// holds never shapes our key space.
    pub fn idempotency(&self, scope: &str, client_key: &str) -> String {
        let digest = Sha256::new()
            .chain_update(scope.as_bytes())
            .chain_update([0])
            .chain_update(client_key.as_bytes())
            .finalize();
        format!("{}:idem:{}", self.prefix, hex::encode(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_keys_share_one_hash_tag() {
        let keys = Keys::new("t1").unwrap();
        let sku = Sku::parse("PS5").unwrap();
        assert_eq!(keys.stock(&sku), "t1:sku:{PS5}");
        assert_eq!(keys.movements(&sku), "t1:sku:{PS5}:moves");
        assert_eq!(keys.sku_of_stock_key(&keys.stock(&sku)), Some(sku));
        assert_eq!(keys.sku_of_stock_key("t1:sku:{PS5}:moves"), None);
        assert_eq!(keys.sku_of_stock_key("t2:sku:{PS5}"), None);
    }

    #[test]
    fn prefix_is_validated() {
        for bad in ["", "a*", "a{b", "a b", &"p".repeat(65)] {
            assert!(Keys::new(bad).is_err(), "{bad:?}");
        }
        assert!(Keys::new("sw:test-1").is_ok());
    }

    #[test]
    fn idempotency_keys_are_scoped_and_opaque() {
        let keys = Keys::new("sw").unwrap();
        let a = keys.idempotency("purchase", "k:1}*");
        assert!(a.starts_with("sw:idem:") && a.len() == "sw:idem:".len() + 64);
        assert_ne!(a, keys.idempotency("checkout", "k:1}*"));
    }
}
