//! A waiting room's admissions as the customer carries them: a token signed with the
//! server's `--admission-secret` (HMAC-SHA256) that names the SKU, the customer and the end
//! of its window. Every process of a fleet must share the secret to honour each other's
//! tokens. The signature and the customer are checked here, at the edge; whether the SKU
//! needs an admission, and whether it is still valid on Redis's clock, is decided in the
//! take's transaction or script (`crate::ops::take`).

use crate::domain::{Admissions, Sku, UserId};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a token says.
#[derive(Debug, Serialize, Deserialize)]
struct Claim {
    sku: String,
    user_id: String,
    until: i64,
}

/// The key that signs and checks admissions. Never logged or returned.
pub struct AdmissionKey(SecretString);

impl std::fmt::Debug for AdmissionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdmissionKey(..)")
    }
}

impl AdmissionKey {
    /// The key from `--admission-secret`.
    pub fn new(secret: SecretString) -> Self {
        Self(secret)
    }

    /// A key for this process alone (no secret configured): its tokens are refused by
    /// every other process.
    pub fn generate() -> Self {
        Self(hex::encode(rand::random::<[u8; 32]>()).into())
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }

    /// A token admitting `user` to take `sku` until `until` (epoch ms, Redis's clock):
    /// the claim in hex, a dot, its HMAC in hex.
    pub fn sign(&self, sku: &Sku, user: &UserId, until: i64) -> String {
        let claim = Claim {
            sku: sku.to_string(),
            user_id: user.to_string(),
            until,
        };
        let payload = serde_json::to_vec(&claim).expect("a claim serializes");
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", hex::encode(&payload), hex::encode(tag))
    }

    /// The SKU and window end of a token this key signed for `user`; `None` for anything
    /// else (malformed, forged, or another customer's).
    fn verify(&self, token: &str, user: &UserId) -> Option<(Sku, i64)> {
        let (payload, tag) = token.trim().split_once('.')?;
        let (payload, tag) = (hex::decode(payload).ok()?, hex::decode(tag).ok()?);
        self.mac(&payload).verify_slice(&tag).ok()?;
        let claim: Claim = serde_json::from_slice(&payload).ok()?;
        (claim.user_id == user.as_str()).then_some(())?;
        Some((Sku::parse(&claim.sku).ok()?, claim.until))
    }

    /// The admissions of an `Admission` header (tokens separated by commas) that are this
    /// key's and `user`'s.
    pub fn admissions(&self, header: &str, user: &UserId) -> Admissions {
        Admissions {
            presented: true,
            valid: header.split(',').filter_map(|t| self.verify(t, user)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_admits_its_own_customer_and_nothing_forged() {
        let key = AdmissionKey::generate();
        let (sku, ada, bob) = (
            Sku::parse("drop").unwrap(),
            UserId::try_from("ada".to_owned()).unwrap(),
            UserId::try_from("bob".to_owned()).unwrap(),
        );
        let token = key.sign(&sku, &ada, 42);
        assert_eq!(key.admissions(&token, &ada).valid, vec![(sku.clone(), 42)]);
        assert!(key.admissions(&token, &bob).valid.is_empty(), "another customer's");
        assert!(
            AdmissionKey::generate().admissions(&token, &ada).valid.is_empty(),
            "another key's"
        );
        let (payload, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", hex::encode(payload.replace("34", "39")));
        assert!(key.admissions(&forged, &ada).valid.is_empty());
        let two = format!("junk, {token}");
        assert_eq!(key.admissions(&two, &ada).valid.len(), 1);
        assert!(key.admissions("", &ada).presented);
    }
}
