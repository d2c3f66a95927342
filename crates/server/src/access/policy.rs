//! Who may call what without a key lookup: the operator's token and whether keys are
//! required. The HTTP extractors (`routes::auth`) apply these rules.

use super::Keyring;
use crate::domain::Scope;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// The server's credentials and rules.
#[derive(Debug, Default)]
pub struct Access {
    /// The operator's token, when set: allowed everywhere.
    pub admin_token: Option<AdminToken>,
    /// Whether every endpoint but probes and documents needs a credential.
    pub require_keys: bool,
    /// Client keys, checked against Redis and remembered briefly.
    pub keyring: Keyring,
}

impl Access {
    /// Whether an endpoint needing `need` may be called without a credential.
    pub fn open(&self, need: Scope) -> bool {
        match need {
            Scope::Admin => self.admin_token.is_none() && !self.require_keys,
            Scope::Checkout | Scope::Read => !self.require_keys,
        }
    }
}

/// The admin bearer token, held as a [`SecretString`]: its `Debug` never shows the secret,
/// so it cannot leak into logs, and it is wiped from memory on drop.
#[derive(Debug)]
pub struct AdminToken(SecretString);

impl AdminToken {
    /// Wraps the configured token.
    pub fn new(token: SecretString) -> Self {
        Self(token)
    }

    /// Compares in constant time (for equal lengths), so timing does not reveal a prefix.
    pub fn matches(&self, presented: &str) -> bool {
        let token = self.0.expose_secret();
        token.len() == presented.len() && bool::from(token.as_bytes().ct_eq(presented.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::AdminToken;

    #[test]
    fn the_admin_token_matches_only_itself_and_never_shows() {
        let token = AdminToken::new("s3cret-token".into());
        assert!(token.matches("s3cret-token"));
        for wrong in [
            "",
            "s3cret-toke",
            "s3cret-token ",
            "S3cret-token",
            "s3cret-tokeN",
            "x3cret-token",
        ] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
