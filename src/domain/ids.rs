use std::fmt;
use uuid::Uuid;

/// Redis Cluster's hash slots: an id names one of them (its low 14 bits).
pub const CLUSTER_SLOTS: u16 = 16384;

macro_rules! time_ordered_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = "uuid", example = "01936b2e-8f3a-7c4d-9e5f-0a1b2c3d4e5f")]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh UUIDv7 whose low 14 bits name the Redis Cluster slot its record lives
            /// in (see [`crate::keys`]). The bits taken were random: the time and uuid's
            /// 42-bit counter come first, so ids stay unique and sort by creation time.
            pub fn generate_in(slot: u16) -> Self {
                let mut bytes = Uuid::now_v7().into_bytes();
                let slot = slot % CLUSTER_SLOTS;
                bytes[14] = (bytes[14] & 0xC0) | (slot >> 8) as u8;
                bytes[15] = slot as u8;
                Self(Uuid::from_bytes(bytes))
            }

            /// The cluster slot this id's record lives in.
            pub fn slot(&self) -> u16 {
                let bytes = self.0.as_bytes();
                (u16::from(bytes[14] & 0x3F) << 8) | u16::from(bytes[15])
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
        let a = OrderId::generate_in(16383);
        let b = OrderId::generate_in(0);
        assert_eq!(OrderId::parse(&a.to_string()), Some(a));
        assert!(
            a.to_string() < b.to_string(),
            "v7 ids sort by creation time, whatever their slot"
        );
    }

    #[test]
    fn ids_carry_their_slot() {
        for slot in [0, 1, 255, 256, 9189, 16383] {
            let id = ReservationId::generate_in(slot);
            assert_eq!(id.slot(), slot);
            assert_eq!(ReservationId::parse(&id.to_string()).map(|i| i.slot()), Some(slot));
        }
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| OrderId::generate_in(7)).collect();
        assert_eq!(ids.len(), 10_000, "the slot bits leave ids unique");
    }

    #[test]
    fn foreign_forms_are_not_ours() {
        let id = ReservationId::generate_in(0).to_string();
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
