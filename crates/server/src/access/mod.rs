//! Client API keys: made, listed and revoked by `stockwatch keys`, checked by the server.
//!
//! Redis keeps, per key, its name, its scopes and the SHA-256 of the whole key, never the
//! key (`sw:apikeys`, id → JSON), so a copy of Redis or of its backups calls nothing. Who
//! can write to Redis can already change any stock, so the command line, which talks to
//! Redis directly, is where keys are made: there is no endpoint that mints them.
//!
//! The server checks a presented key through a [`Keyring`], which remembers each id's
//! record for [`Keyring::FRESH`]: a busy checkout costs no Redis read per request, and a
//! revoked key stops working within that time on every server.

mod keyring;
mod policy;

pub use keyring::{KeyCheck, Keyring};
pub use policy::{Access, AdminToken};

use crate::domain::{ApiKey, InvalidInput, KeyId, Scopes};
use crate::error::StoreError;
use crate::store::Store;
use serde::{Deserialize, Serialize};

/// What is stored for a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    name: String,
    scopes: Scopes,
    /// Hex SHA-256 of the whole key.
    digest: String,
    created_at: i64,
}

/// A key as `keys list` shows it: everything but its digest.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// The public id (`keys revoke` takes it).
    pub id: KeyId,
    /// What the operator called it.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was made, Unix milliseconds.
    pub created_at: i64,
}

/// A key's name: 1–64 printable characters, so a listing can never be garbled.
pub fn check_name(name: &str) -> Result<(), InvalidInput> {
    let len = name.chars().count();
    if (1..=64).contains(&len) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(InvalidInput::new("a key's name must be 1-64 printable characters"))
    }
}

/// Makes a key. The returned [`ApiKey`] is the only copy: show it once.
pub async fn create(store: &Store, name: &str, scopes: Scopes) -> Result<(ApiKey, KeyInfo), StoreError> {
    loop {
        let key = ApiKey::generate();
        let stored = Stored {
            name: name.to_owned(),
            scopes: scopes.clone(),
            digest: hex::encode(key.digest()),
            created_at: crate::ops::now_ms(),
        };
        let json = serde_json::to_string(&stored).expect("key records serialize");
        // HSETNX: two keys never share an id, however unlikely a 64-bit collision is.
        let added: bool = store
            .query(
                redis::cmd("HSETNX")
                    .arg(store.keys().api_keys())
                    .arg(key.id().as_str())
                    .arg(json),
            )
            .await?;
        if added {
            let info = info(key.id().clone(), stored);
            return Ok((key, info));
        }
    }
}

/// Every key, oldest first.
pub async fn list(store: &Store) -> Result<Vec<KeyInfo>, StoreError> {
    let all: std::collections::HashMap<String, String> =
        store.query(redis::cmd("HGETALL").arg(store.keys().api_keys())).await?;
    let mut keys: Vec<KeyInfo> = all
        .into_iter()
        .filter_map(|(id, json)| Some(info(KeyId::parse(&id).ok()?, serde_json::from_str(&json).ok()?)))
        .collect();
    keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(keys)
}

/// Revokes a key; `false` when there was none.
pub async fn revoke(store: &Store, id: &KeyId) -> Result<bool, StoreError> {
    let removed: i64 = store
        .query(redis::cmd("HDEL").arg(store.keys().api_keys()).arg(id.as_str()))
        .await?;
    Ok(removed == 1)
}

/// The stored digest and scopes of one id, if it exists.
async fn lookup(store: &Store, id: &KeyId) -> Result<Option<([u8; 32], Scopes)>, StoreError> {
    let json: Option<String> = store
        .query(redis::cmd("HGET").arg(store.keys().api_keys()).arg(id.as_str()))
        .await?;
    Ok(json.and_then(|j| {
        let stored: Stored = serde_json::from_str(&j).ok()?;
        let digest: [u8; 32] = hex::decode(&stored.digest).ok()?.try_into().ok()?;
        Some((digest, stored.scopes))
    }))
}

fn info(id: KeyId, stored: Stored) -> KeyInfo {
    KeyInfo {
        id,
        name: stored.name,
        scopes: stored.scopes,
        created_at: stored.created_at,
    }
}
