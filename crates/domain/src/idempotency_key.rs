use super::InvalidInput;

/// A client's `Idempotency-Key` header: 1–128 visible ASCII characters (`!`..=`~`). It is
/// hashed before it reaches a Redis key ([`the engine's key layout`]), so even a
/// valid key full of `:` and `*` shapes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest key accepted.
    pub const MAX_LEN: usize = 128;

    /// Checks the header value's length and alphabet.
    pub fn parse(raw: &[u8]) -> Result<Self, InvalidInput> {
        let visible = |b: &u8| (b'!'..=b'~').contains(b);
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.iter().all(visible) {
            return Err(InvalidInput::new(
                "Idempotency-Key header must be 1-128 visible ASCII characters",
            ));
        }
        Ok(Self(String::from_utf8_lossy(raw).into_owned()))
    }

    /// A fresh key of 128 random bits (32 hex digits): what a client makes once per logical
    /// call and sends again on every retry of it.
    pub fn generate() -> Self {
        Self(format!("{:032x}", rand::random::<u128>()))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_key_rules() {
        assert!(IdempotencyKey::parse(b"order-42:retry*{x}").is_ok());
        assert!(IdempotencyKey::parse(&[b'k'; 128]).is_ok());
        for bad in [&b""[..], b"has space", b"tab\t", &[b'k'; 129], "é".as_bytes(), b"\x7f"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
