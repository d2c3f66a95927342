use std::fmt;
use uuid::Uuid;

macro_rules! time_ordered_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = "uuid", example = "01936b2e-8f3a-7c4d-9e5f-0a1b2c3d4e5f")]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh UUIDv7: unique, and sortable by creation time.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses an id from a path. Only the canonical hyphenated lowercase form is one
            /// of ours, so anything else can be answered 404 without touching Redis.
            pub fn parse(raw: &str) -> Option<Self> {
                let id = Uuid::try_parse(raw).ok()?;
                (id.get_version_num() == 7 && id.hyphenated().to_string() == raw).then_some(Self(id))
            }
        }

        /// Only our own canonical form deserializes, so stored data cannot smuggle in a
        /// foreign id.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&raw).ok_or_else(|| serde::de::Error::custom("not a stockwatch id"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

time_ordered_id!(
    /// Identifies an order (purchase, checkout or confirmed reservation).
    OrderId
);
time_ordered_id!(
    /// Identifies a reservation (a timed hold on stock).
    ReservationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_time() {
        let a = OrderId::generate();
        let b = OrderId::generate();
        assert_eq!(OrderId::parse(&a.to_string()), Some(a));
        assert!(a.to_string() < b.to_string(), "v7 ids sort by creation time");
    }

    #[test]
    fn foreign_forms_are_not_ours() {
        let id = ReservationId::generate().to_string();
        for bad in [
            id.to_uppercase(),
            id.replace('-', ""),
            format!("{id} "),
            "00000000-0000-4000-8000-000000000000".into(),
            "../x".into(),
            "".into(),
        ] {
            assert!(ReservationId::parse(&bad).is_none(), "{bad}");
        }
    }
}
