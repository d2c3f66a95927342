//! `Idempotency-Key`: a request's answer, stored in the same MULTI (or script) as its effect.
//!
//! The answer lives in the slot of the step that writes it (the SKU's, on a cluster). A
//! claim kept under the client's key alone records the request's fingerprint first, so a
//! key reused for a request on other SKUs (whose answer would live elsewhere) is refused.
//!
//! Because the answer is written atomically with the effect, a repeat can never find the
//! effect without the answer or the answer without the effect. A repeat that races the
//! first attempt is caught by WATCH on the stored answer's key (or by the script running
//! alone), so concurrent repeats give one effect and the same answer.

use crate::domain::IdempotencyKey;
use crate::error::{Error, StoreError};
use crate::store::Store;
use redis::Cmd;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A client's key plus a fingerprint of the request it came with, so that reusing the key
/// for a different request can be refused (`422 idempotency_key_reused`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The client's key.
    pub key: IdempotencyKey,
    /// Hex SHA-256 of everything that makes the request what it is.
    pub fingerprint: String,
}

impl Idempotency {
    /// Fingerprints the request from its parts (e.g. strategy and canonical body).
    pub fn new(key: IdempotencyKey, parts: &[&str]) -> Self {
        let mut hash = Sha256::new();
        for part in parts {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        Self {
            key,
            fingerprint: hex::encode(hash.finalize()),
        }
    }
}

/// Where one endpoint's answer for one key lives, and how it is read and written.
#[derive(Debug, Clone)]
pub(crate) struct StoredAnswer {
    /// The Redis hash holding the answer.
    pub key: String,
    fingerprint: String,
    retention_ms: u128,
}

/// What the stored hash said.
pub(crate) enum Recalled {
    /// Nothing stored: this is the first time.
    Fresh,
    /// The first answer's fields (without the fingerprint).
    Replay(HashMap<String, String>),
}

impl StoredAnswer {
    /// [`StoredAnswer::claim`] when the call carries a key; `None` when it does not.
    pub async fn claim_if_keyed(
        store: &Store,
        scope: &str,
        idem: Option<&Idempotency>,
        slot: u16,
    ) -> Result<Option<Self>, Error> {
        match idem {
            Some(idem) => Ok(Some(Self::claim(store, scope, idem, slot).await?)),
            None => Ok(None),
        }
    }

    /// Claims `idem` for one endpoint (`scope` names the endpoint and its path id, so one key
    /// can be used on different endpoints) and says where its answer lives: in `slot`, the
    /// slot of the step that will write it. A key first used with another fingerprint is
    /// refused here, before anything runs.
    pub async fn claim(store: &Store, scope: &str, idem: &Idempotency, slot: u16) -> Result<Self, Error> {
        let keys = store.keys();
        let retention_ms = store.config().retention.as_millis();
        // SET NX GET (Redis 7): one round trip that claims a fresh key or returns the claim.
        let prior: Option<String> = store
            .query(
                redis::cmd("SET")
                    .arg(keys.idempotency_claim(scope, idem.key.as_str()))
                    .arg(&idem.fingerprint)
                    .arg("NX")
                    .arg("GET")
                    .arg("PX")
                    .arg(retention_ms as u64),
            )
            .await?;
        if prior.is_some_and(|fp| fp != idem.fingerprint) {
            return Err(Error::IdempotencyKeyReused);
        }
        Ok(Self {
            key: keys.idempotency(scope, idem.key.as_str(), slot),
            fingerprint: idem.fingerprint.clone(),
            retention_ms,
        })
    }

    /// Appends the read of the stored answer (HGETALL; empty when none).
    pub fn read(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("HGETALL").arg(&self.key);
    }

    /// Decodes what [`StoredAnswer::read`] returned: fresh, a replay, or a key reused for another request.
    pub fn recall(&self, stored: redis::Value) -> Result<Recalled, Error> {
        let mut fields: HashMap<String, String> = redis::from_redis_value(stored).map_err(StoreError::from)?;
        match fields.remove("fp") {
            None => Ok(Recalled::Fresh),
            Some(fp) if fp == self.fingerprint => Ok(Recalled::Replay(fields)),
            Some(_) => Err(Error::IdempotencyKeyReused),
        }
    }

    /// The writes that store an answer; they go in the same MULTI as the effect.
    pub fn remember(&self, fields: &[(&str, String)]) -> [Cmd; 2] {
        let mut hset = redis::cmd("HSET");
        hset.arg(&self.key).arg("fp").arg(&self.fingerprint);
        for (f, v) in fields {
            hset.arg(*f).arg(v);
        }
        [
            hset,
            redis::cmd("PEXPIRE")
                .arg(&self.key)
                .arg(self.retention_ms as u64)
                .to_owned(),
        ]
    }

    /// Whether two requests with the same key are the same request.
    pub fn same_request(&self, other: &StoredAnswer) -> bool {
        self.fingerprint == other.fingerprint
    }

    /// Arguments for a script that stores the answer itself: key, fingerprint, retention.
    pub fn script_args(&self) -> (&str, &str, u64) {
        (&self.key, &self.fingerprint, self.retention_ms as u64)
    }
}

/// A field of a stored answer, or a protocol error naming it.
pub(crate) fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Result<&'a str, StoreError> {
    fields
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| StoreError::Protocol(format!("stored idempotent answer has no {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_separate_parts() {
        let key = || IdempotencyKey::parse(b"k").unwrap();
        let a = Idempotency::new(key(), &["ab", "c"]);
        assert_eq!(a, Idempotency::new(key(), &["ab", "c"]));
        assert_ne!(a.fingerprint, Idempotency::new(key(), &["a", "bc"]).fingerprint);
    }
}
