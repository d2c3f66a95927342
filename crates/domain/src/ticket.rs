use super::Sku;

/// A place in a SKU's waiting room: 128 random bits as 32 lowercase hex digits, so one
/// ticket tells nothing about another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Ticket(String);

impl Ticket {
    /// A new ticket from the operating system's random source.
    pub fn generate() -> Self {
        Self(hex::encode(rand::random::<[u8; 16]>()))
    }

    /// A ticket as a client sends it back; `None` for anything that cannot be one (a 404
    /// without a Redis call).
    pub fn parse(raw: &str) -> Option<Self> {
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        (raw.len() == 32 && raw.bytes().all(hex)).then(|| Self(raw.to_owned()))
    }

    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Ticket {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).ok_or_else(|| serde::de::Error::custom("not a ticket"))
    }
}

impl std::fmt::Display for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The admissions a request presented (its `Admission` header), already verified by the
/// server and kept only for the request's own customer: per SKU, until when (epoch ms,
/// Redis's clock) it may take. Whether a take needs one is decided in its transaction or
/// script, from the SKU's sale settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admissions {
    /// Whether the request carried an `Admission` header at all: a take then refused is
    /// `admission_invalid`, not `admission_required`.
    pub presented: bool,
    /// Valid admissions of the request's customer: the SKU and the end of its window.
    pub valid: Vec<(Sku, i64)>,
}

impl Admissions {
    /// Until when the customer may take `sku`, if an admission names it.
    pub fn until(&self, sku: &Sku) -> Option<i64> {
        self.valid.iter().find(|(s, _)| s == sku).map(|(_, until)| *until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_random_hex_and_parse_back() {
        let t = Ticket::generate();
        assert_eq!(Ticket::parse(t.as_str()), Some(t.clone()));
        assert_ne!(Ticket::generate(), t);
        for bad in [
            "",
            "ABCDEF0123456789abcdef0123456789",
            "0123",
            &"a".repeat(33),
            "g123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(Ticket::parse(bad), None, "{bad}");
        }
    }
}
