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

use crate::Inventory;
use crate::convert;
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
    retention_ms: u64,
}

/// What the stored hash said.
pub(crate) enum Prior {
    /// Nothing stored: this is the first time.
    Fresh,
    /// The first answer's fields (without the fingerprint).
    Replay(HashMap<String, String>),
}

impl StoredAnswer {
    /// [`StoredAnswer::claim`] when the call carries a key; `None` when it does not.
    pub(crate) async fn claim_if_keyed(
        store: &Inventory,
        scope: &str,
        idem: Option<&Idempotency>,
        slot: u16,
    ) -> Result<Option<Self>, Error> {
        match idem {
            // Boxed: inline, the claim's future would grow every take's, keyed or not.
            Some(idem) => Ok(Some(Box::pin(Self::claim(store, scope, idem, slot)).await?)),
            None => Ok(None),
        }
    }

    /// Claims `idem` for one endpoint (`scope` names the endpoint and its path id, so one key
    /// can be used on different endpoints) and says where its answer lives: in `slot`, the
    /// slot of the step that will write it. A key first used with another fingerprint is
    /// refused here, before anything runs.
    pub(crate) async fn claim(store: &Inventory, scope: &str, idem: &Idempotency, slot: u16) -> Result<Self, Error> {
        let keys = store.keys();
        let retention_ms = convert::millis(store.config().retention);
        // SET NX GET (Redis 7): one round trip that claims a fresh key or returns the claim.
        let prior: Option<String> = store
            .query(
                redis::cmd("SET")
                    .arg(keys.idempotency_claim(scope, idem.key.as_str()))
                    .arg(&idem.fingerprint)
                    .arg("NX")
                    .arg("GET")
                    .arg("PX")
                    .arg(retention_ms),
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
    pub(crate) fn read(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("HGETALL").arg(&self.key);
    }

    /// Decodes what [`StoredAnswer::read`] returned: fresh, a replay, or a key reused for another request.
    pub(crate) fn recall(&self, stored: redis::Value) -> Result<Prior, Error> {
        let mut fields: HashMap<String, String> = redis::from_redis_value(stored).map_err(StoreError::from)?;
        match fields.remove("fp") {
            None => Ok(Prior::Fresh),
            Some(fp) if fp == self.fingerprint => Ok(Prior::Replay(fields)),
            Some(_) => Err(Error::IdempotencyKeyReused),
        }
    }

    /// The writes that store an answer; they go in the same MULTI as the effect.
    pub(crate) fn remember(&self, fields: &[(&str, String)]) -> [Cmd; 2] {
        let mut hset = redis::cmd("HSET");
        hset.arg(&self.key).arg("fp").arg(&self.fingerprint);
        for (f, v) in fields {
            hset.arg(*f).arg(v);
        }
        [
            hset,
            redis::cmd("PEXPIRE").arg(&self.key).arg(self.retention_ms).to_owned(),
        ]
    }

    /// The JSON answer [`Self::remember_json`] stored, when [`Self::read`] found one: what a
    /// repeat answers instead of running again.
    pub(crate) fn replay<T: serde::de::DeserializeOwned>(&self, stored: redis::Value) -> Result<Option<T>, Error> {
        let Prior::Replay(fields) = self.recall(stored)? else {
            return Ok(None);
        };
        serde_json::from_str(field(&fields, "body")?)
            .map(Some)
            .map_err(|e| StoreError::Protocol(format!("stored answer: {e}").into()).into())
    }

    /// The writes that store `answer` as JSON, for [`Self::replay`].
    pub(crate) fn remember_json<T: serde::Serialize>(&self, answer: &T) -> [Cmd; 2] {
        self.remember(&[("body", serde_json::to_string(answer).expect("answers serialize"))])
    }

    /// Whether two requests with the same key are the same request.
    pub(crate) fn same_request(&self, other: &StoredAnswer) -> bool {
        self.fingerprint == other.fingerprint
    }

    /// Arguments for a script that stores the answer itself: key, fingerprint, retention.
    pub(crate) fn script_args(&self) -> (&str, &str, u64) {
        (&self.key, &self.fingerprint, self.retention_ms)
    }
}

/// An answer as the client got it: the HTTP status and the body's bytes. What an admin
/// write stores under its Idempotency-Key and gives back on a repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as sent (empty for a 204).
    pub body: Vec<u8>,
}

/// One holder at a time for an answer key, where no WATCH decides between repeats that
/// race (the admin writes, and the `broken` teaching strategy): a `SET NX` lock beside the
/// answer that lapses with the holder's deadline, so a crashed holder blocks nobody long.
pub(crate) struct Turn {
    lock: String,
    token: String,
}

impl Turn {
    /// Deletes the lock only if it is still this turn's (it may have lapsed and been taken).
    const RELEASE: &str =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    /// Waits for the lock beside `answer_key` until `deadline` (then `503 contention`).
    pub(crate) async fn take(
        store: &Inventory,
        answer_key: &str,
        deadline: tokio::time::Instant,
    ) -> Result<Self, Error> {
        let turn = Self {
            lock: store.keys().idempotency_lock(answer_key),
            token: format!("{:032x}", rand::random::<u128>()),
        };
        let mut conn = store.shared();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ttl_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut set = redis::cmd("SET");
            set.arg(&turn.lock).arg(&turn.token).arg("NX").arg("PX").arg(ttl_ms);
            let taken: Option<String> = Store::bounded(deadline, set.query_async(&mut conn)).await?;
            if taken.is_some() {
                return Ok(turn);
            }
            if left.is_zero() {
                return Err(Error::Contention {
                    attempts: 1,
                    throttled: false,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(1..6))).await;
        }
    }

    /// Gives the lock up (or leaves it to lapse, if Redis does not answer in time).
    pub(crate) async fn end(self, store: &Inventory) {
        let release = redis::Script::new(Self::RELEASE);
        let mut call = release.key(&self.lock);
        call.arg(&self.token);
        let mut conn = store.shared();
        if let Err(e) = Store::bounded(store.deadline(), call.invoke_async::<i64>(&mut conn)).await {
            tracing::debug!(error = %e, "idempotency lock left to lapse");
        }
    }
}

/// Runs an admin write at most once per Idempotency-Key (`scope` names the endpoint and its
/// path): the first call runs `write` and stores its answer, refusals (4xx) included; a
/// repeat with the same fingerprint gets that answer back, one with another fingerprint
/// `422 idempotency_key_reused`. Repeats that race take `Turn`s, so exactly one runs. A
/// failure of our own (5xx) is not stored: the repeat runs again.
///
/// Unlike a take, the answer is stored just after the effect, not in its transaction: a
/// process that dies between the two (a crash, within a millisecond or so) leaves the
/// effect without its answer, and a repeat after the lock lapses runs again.
pub async fn once<F, Fut>(store: &Inventory, scope: &str, idem: Option<&Idempotency>, write: F) -> Result<Answer, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Answer, Error>>,
{
    let Some(idem) = idem else {
        return write().await;
    };
    let stored = StoredAnswer::claim(store, scope, idem, 0).await?;
    let turn = Turn::take(store, &stored.key, store.deadline()).await?;
    let result = run_once(store, &stored, write).await;
    turn.end(store).await;
    result
}

async fn run_once<F, Fut>(store: &Inventory, stored: &StoredAnswer, write: F) -> Result<Answer, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Answer, Error>>,
{
    if let Some(answer) = stored.recall_answer(store).await? {
        return Ok(answer);
    }
    let answer = match write().await {
        Ok(answer) => answer,
        Err(e) if e.status().is_client_error() => Answer {
            status: e.status().as_u16(),
            body: serde_json::to_vec(&e.error_body()).expect("error bodies serialize"),
        },
        Err(e) => return Err(e),
    };
    let [hset, pexpire] = stored.remember(&[
        ("status", answer.status.to_string()),
        ("body", String::from_utf8_lossy(&answer.body).into_owned()),
    ]);
    let mut pipe = redis::pipe();
    pipe.atomic().add_command(hset).add_command(pexpire).ignore();
    let mut conn = store.shared();
    let kept: Result<(), StoreError> = Store::bounded(store.deadline(), pipe.query_async::<()>(&mut conn)).await;
    if let Err(e) = kept {
        tracing::warn!(error = %e, "an admin write's answer could not be stored; a repeat will run it again");
    }
    Ok(answer)
}

impl StoredAnswer {
    /// The stored admin answer, if any (a reused key is refused here too).
    async fn recall_answer(&self, store: &Inventory) -> Result<Option<Answer>, Error> {
        let stored: redis::Value = store.query(redis::cmd("HGETALL").arg(&self.key)).await?;
        match self.recall(stored)? {
            Prior::Fresh => Ok(None),
            Prior::Replay(fields) => Ok(Some(Answer {
                status: field(&fields, "status")?
                    .parse()
                    .map_err(|_| StoreError::Protocol("stored answer has a bad status".into()))?,
                body: field(&fields, "body")?.as_bytes().to_vec(),
            })),
        }
    }
}

/// A field of a stored answer, or a protocol error naming it.
pub(crate) fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Result<&'a str, StoreError> {
    fields
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| StoreError::Protocol(format!("stored idempotent answer has no {name}").into()))
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
