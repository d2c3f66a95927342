use super::InvalidInput;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a client key may do. `admin` includes the other two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Purchases, checkouts, holds and their transitions, and reading an order or a hold
    /// by its id (an unguessable id is the proof of having made it).
    Checkout,
    /// Stock, movements, alert rules and lists, the event stream and metrics.
    Read,
    /// Everything: every write to stock, alerts, webhooks, and the demos.
    Admin,
}

impl Scope {
    /// Every scope, in the order the contract lists them.
    pub const ALL: [Scope; 3] = [Scope::Checkout, Scope::Read, Scope::Admin];

    /// The scope's name in the contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checkout => "checkout",
            Self::Read => "read",
            Self::Admin => "admin",
        }
    }

    /// One of `checkout`, `read`, `admin`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| InvalidInput::new(format!("unknown scope {raw:?}: use checkout, read or admin")))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes of one key: at least one, sorted, no repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Scope>", into = "Vec<Scope>")]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// A comma-separated list such as `checkout,read`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let scopes = raw.split(',').map(Scope::parse).collect::<Result<Vec<_>, _>>()?;
        Self::try_from(scopes)
    }

    /// Whether a call that needs `need` is allowed: `admin` allows everything.
    pub fn allow(&self, need: Scope) -> bool {
        self.0.iter().any(|&s| s == need || s == Scope::Admin)
    }

    /// The scopes, sorted.
    pub fn as_slice(&self) -> &[Scope] {
        &self.0
    }
}

impl TryFrom<Vec<Scope>> for Scopes {
    type Error = InvalidInput;

    fn try_from(mut scopes: Vec<Scope>) -> Result<Self, InvalidInput> {
        scopes.sort_unstable();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(InvalidInput::new("a key needs at least one scope"));
        }
        Ok(Self(scopes))
    }
}

impl From<Scopes> for Vec<Scope> {
    fn from(scopes: Scopes) -> Self {
        scopes.0
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

/// The public half of a key: 16 lowercase hex digits (64 random bits), what `keys list`
/// shows and `keys revoke` takes. Checked, so it can never shape a Redis key or field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyId(String);

impl KeyId {
    /// Hex digits in an id.
    pub const LEN: usize = 16;

    /// 16 lowercase hex digits.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if raw.len() == Self::LEN && raw.bytes().all(hex) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::new("a key id is 16 lowercase hex digits"))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client's API key, `swk_<id>_<secret>`: the id, then 64 hex digits (256 random bits) of
/// secret. Held as a [`SecretString`], so `Debug` never shows it and it is wiped on drop;
/// only its SHA-256 is stored ([`ApiKey::digest`]).
pub struct ApiKey {
    id: KeyId,
    whole: SecretString,
}

impl ApiKey {
    /// What every key starts with, so a leaked one is easy to recognise and to scan for.
    pub const PREFIX: &'static str = "swk_";
    const SECRET_LEN: usize = 64;

    /// A new key from the operating system's random source.
    pub fn generate() -> Self {
        let id = KeyId(hex::encode(rand::random::<[u8; 8]>()));
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let whole = format!("{}{id}_{secret}", Self::PREFIX);
        Self {
            id,
            whole: whole.into(),
        }
    }

    /// A presented key, checked for shape only (whether it exists is the keyring's call).
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(Self::PREFIX)?;
        let (id, secret) = rest.split_once('_')?;
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if secret.len() != Self::SECRET_LEN || !secret.bytes().all(hex) {
            return None;
        }
        Some(Self {
            id: KeyId::parse(id).ok()?,
            whole: raw.to_owned().into(),
        })
    }

    /// The key's public id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// SHA-256 of the whole key: what is stored and compared. A fast hash is enough: the
    /// secret is 256 random bits, not a password, so there is nothing to guess faster.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.whole.expose_secret().as_bytes()).into()
    }

    /// The key itself, for the one time it is shown (when it is made).
    pub fn reveal(&self) -> &str {
        self.whole.expose_secret()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}, <redacted>)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_back_and_never_shows() {
        let key = ApiKey::generate();
        let again = ApiKey::parse(key.reveal()).expect("own keys parse");
        assert_eq!(again.id(), key.id());
        assert_eq!(again.digest(), key.digest());
        assert_ne!(ApiKey::generate().digest(), key.digest());
        let secret = key.reveal().rsplit('_').next().unwrap().to_owned();
        assert!(!format!("{key:?}").contains(&secret));
    }

    #[test]
    fn malformed_keys_are_refused() {
        let good = ApiKey::generate().reveal().to_owned();
        for bad in [
            String::new(),
            good.replacen("swk_", "sk_", 1),
            good[..good.len() - 1].to_owned(),
            format!("{good}0"),
            good.to_uppercase(),
            good.replacen('_', ":", 2),
            format!("swk_{}_{}", "g".repeat(16), "0".repeat(64)),
        ] {
            assert!(ApiKey::parse(&bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn admin_allows_everything_and_other_scopes_only_themselves() {
        let admin = Scopes::parse("admin").unwrap();
        assert!(Scope::ALL.iter().all(|&s| admin.allow(s)));
        let shop = Scopes::parse("read, checkout,read").unwrap();
        assert_eq!(shop.to_string(), "checkout,read");
        assert!(shop.allow(Scope::Checkout) && shop.allow(Scope::Read) && !shop.allow(Scope::Admin));
        for bad in ["", "write", "checkout,", "Admin"] {
            assert!(Scopes::parse(bad).is_err(), "{bad:?}");
        }
        assert!(KeyId::parse("0123456789abcdef").is_ok());
        for bad in ["0123456789abcde", "0123456789ABCDEF", "0123456789abcdef0", "../../x"] {
            assert!(KeyId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
