use super::InvalidInput;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant a client names (a sale's opening), as RFC 3339 in and out and epoch
/// milliseconds inside: what Redis's `TIME` is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Accepts an RFC 3339 string with its offset (`2026-12-24T12:00:00Z`,
    /// `2026-12-24T13:00:00+01:00`), any year RFC 3339 can write (0000 to 9999), to the
    /// millisecond; `field` names it in the refusal.
    pub fn parse(value: &serde_json::Value, field: &str) -> Result<Self, InvalidInput> {
        let bad = || {
            InvalidInput::new(format!(
                "{field} must be an RFC 3339 time with an offset, e.g. 2026-12-24T12:00:00Z"
            ))
        };
        let text = value.as_str().ok_or_else(bad)?;
        let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| bad())?;
        let ms = at.unix_timestamp_nanos() / 1_000_000;
        Self::from_millis(i64::try_from(ms).map_err(|_| bad())?).ok_or_else(bad)
    }

    /// From epoch milliseconds as stored; `None` outside the years 0000 to 9999.
    pub fn from_millis(ms: i64) -> Option<Self> {
        (-62_167_219_200_000..=253_402_300_799_999)
            .contains(&ms)
            .then_some(Self(ms))
    }

    /// Epoch milliseconds.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// RFC 3339 in UTC, with milliseconds only when there are some.
    pub fn to_rfc3339(self) -> String {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .expect("a Timestamp is within the years 0000 to 9999");
        at.format(&Rfc3339).expect("RFC 3339 formats every such instant")
    }
}

#[cfg(feature = "openapi")]
impl Timestamp {
    /// Its schema where it may be `null`: an RFC 3339 `date-time` string (utoipa drops the
    /// format of an optional string by itself, and contract fuzzers then send any string).
    pub fn nullable_schema() -> utoipa::openapi::schema::Object {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "An instant in RFC 3339 with an offset (answered in UTC); null: not set",
            ))
            .examples([serde_json::json!("2026-12-24T12:00:00Z")])
            .build()
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Self::parse(&value, "time").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339_in_epoch_ms_inside_utc_out() {
        let t = Timestamp::parse(&json!("2026-12-24T13:00:00.250+01:00"), "opens_at").unwrap();
        assert_eq!(t.millis(), 1_798_113_600_250);
        assert_eq!(t.to_rfc3339(), "2026-12-24T12:00:00.25Z");
        assert_eq!(Timestamp::from_millis(t.millis()), Some(t));
        for bad in [
            json!("2026-12-24 12:00"),
            json!("2026-12-24T12:00:00"),
            json!(1),
            json!(""),
        ] {
            let e = Timestamp::parse(&bad, "opens_at").unwrap_err();
            assert!(e.0.contains("opens_at"), "{bad}");
        }
        let early = Timestamp::parse(&json!("0001-01-01T00:00:00Z"), "opens_at").unwrap();
        assert_eq!(early.to_rfc3339(), "0001-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_millis(early.millis()), Some(early));
        assert_eq!(Timestamp::from_millis(i64::MIN), None);
    }
}
