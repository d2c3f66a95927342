use crate::domain::{ApiKey, KeyId, Scope, Scopes};
use crate::error::StoreError;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// What the keyring says of a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// The key exists and allows the call.
    Allowed,
    /// No such key, or not this secret: the caller is not authenticated.
    Unknown,
    /// The key is real but lacks the scope.
    Lacks,
}

/// The server's memory of key records, per id, each kept for [`Keyring::FRESH`]. Unknown
/// ids are remembered too, so a flood of made-up keys costs Redis one read per id and
/// interval, not one per request.
#[derive(Debug, Default)]
pub struct Keyring {
    seen: Mutex<HashMap<KeyId, Seen>>,
}

#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    record: Option<([u8; 32], Scopes)>,
}

impl Keyring {
    /// How long a record is trusted before it is read again: the most a revocation takes
    /// to reach every server.
    pub const FRESH: Duration = Duration::from_secs(5);
    /// Most ids remembered; past it the memory starts afresh (made-up ids cannot grow it).
    const MAX: usize = 10_000;

    /// Whether `key` exists, is this very key, and allows `need`. The digests are compared
    /// in constant time; whether an id exists is not a secret (it is half of a key that
    /// also needs 256 random bits).
    pub async fn check(&self, store: &Store, key: &ApiKey, need: Scope) -> Result<KeyCheck, StoreError> {
        let remembered = self.remembered(key.id());
        let record = match remembered {
            Some(record) => record,
            None => {
                let record = super::lookup(store, key.id()).await?;
                self.remember(key.id(), record.clone());
                record
            }
        };
        let Some((digest, scopes)) = record else {
            return Ok(KeyCheck::Unknown);
        };
        if !bool::from(key.digest().ct_eq(&digest)) {
            return Ok(KeyCheck::Unknown);
        }
        Ok(if scopes.allow(need) {
            KeyCheck::Allowed
        } else {
            KeyCheck::Lacks
        })
    }

    fn remembered(&self, id: &KeyId) -> Option<Option<([u8; 32], Scopes)>> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(id)
            .filter(|s| s.at.elapsed() < Self::FRESH)
            .map(|s| s.record.clone())
    }

    fn remember(&self, id: &KeyId, record: Option<([u8; 32], Scopes)>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= Self::MAX {
            seen.clear();
        }
        seen.insert(
            id.clone(),
            Seen {
                at: Instant::now(),
                record,
            },
        );
    }
}
