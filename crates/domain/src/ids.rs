use super::EntryKind;
use std::fmt;
use uuid::Uuid;

/// Redis Cluster's hash slots: an id names one of them (its low 14 bits).
pub const CLUSTER_SLOTS: u16 = 16384;

/// The length of an id's text: a hyphenated UUID.
pub const ID_TEXT: usize = uuid::fmt::Hyphenated::LENGTH;

macro_rules! time_ordered_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid", example = "01936b2e-8f3a-7c4d-9e5f-0a1b2c3d4e5f"))]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh UUIDv7 whose low 14 bits name the Redis Cluster slot its record lives
            /// in (see the core crate's `keys` module). Every other bit after the 48-bit millisecond
            /// timestamp (less the version and variant) is random: 60 bits, no counter, so
            /// one id tells nothing about its neighbours. Ids still sort by creation time to
            /// the millisecond; within one, their order is random.
            pub fn generate_in(slot: u16) -> Self {
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let millis = u64::try_from(millis).unwrap_or(u64::MAX);
                let random: [u8; 10] = rand::random();
                let mut bytes = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid().into_bytes();
                let slot = slot % CLUSTER_SLOTS;
                let [high, low] = slot.to_be_bytes();
                bytes[14] = (bytes[14] & 0xC0) | high;
                bytes[15] = low;
                Self(Uuid::from_bytes(bytes))
            }

            /// The cluster slot this id's record lives in.
            pub fn slot(&self) -> u16 {
                let bytes = self.0.as_bytes();
                (u16::from(bytes[14] & 0x3F) << 8) | u16::from(bytes[15])
            }

            /// Parses an id from a path: the hyphenated form, in either case (UUIDs are
            /// case-insensitive). Anything else, or another UUID version, is not one of ours
            /// and can be answered 404 without touching Redis.
            pub fn parse(raw: &str) -> Option<Self> {
                if raw.len() != 36 {
                    return None;
                }
                let id = Uuid::try_parse(raw).ok()?;
                (id.get_version_num() == 7 && id.hyphenated().to_string().eq_ignore_ascii_case(raw)).then_some(Self(id))
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

        impl $name {
            /// The id's canonical text (what `Display` writes), in `buf`: for a key built
            /// per request, without the formatting machinery.
            pub fn encode<'b>(&self, buf: &'b mut [u8; ID_TEXT]) -> &'b str {
                self.0.hyphenated().encode_lower(buf)
            }
        }

        /// Written as its canonical text from a stack buffer: a take names its id in
        /// several commands, and none of them needs a `String` of it.
        #[cfg(feature = "redis")]
        impl redis::ToRedisArgs for $name {
            fn write_redis_args<W: ?Sized + redis::RedisWrite>(&self, out: &mut W) {
                let mut buf = [0u8; ID_TEXT];
                out.write_arg(self.encode(&mut buf).as_bytes());
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
time_ordered_id!(
    /// Identifies one return (or the cancellation) of an order; made in the order's slot.
    ReturnId
);

/// The record a take writes: an order, or a reservation. Both kinds travel together through
/// the group commit and the saga, so the id says which it is instead of a string that
/// would have to be parsed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordId {
    /// A purchase's or checkout's order (or the order a saga's checkout decides).
    Order(OrderId),
    /// A hold (or the reservation a saga's hold decides).
    Reservation(ReservationId),
}

impl RecordId {
    /// The cluster slot the record lives in.
    pub fn slot(&self) -> u16 {
        match self {
            Self::Order(id) => id.slot(),
            Self::Reservation(id) => id.slot(),
        }
    }

    /// An id of the same kind as this one, read from `raw` (the stored answer of an
    /// earlier call, which names the record that call made); `None` if it is not one.
    pub fn parse_like(&self, raw: &str) -> Option<Self> {
        match self {
            Self::Order(_) => OrderId::parse(raw).map(Self::Order),
            Self::Reservation(_) => ReservationId::parse(raw).map(Self::Reservation),
        }
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Order(id) => id.fmt(f),
            Self::Reservation(id) => id.fmt(f),
        }
    }
}

#[cfg(feature = "redis")]
impl redis::ToRedisArgs for RecordId {
    fn write_redis_args<W: ?Sized + redis::RedisWrite>(&self, out: &mut W) {
        match self {
            Self::Order(id) => id.write_redis_args(out),
            Self::Reservation(id) => id.write_redis_args(out),
        }
    }
}

/// What a movement points at: the record its change wrote or ended, or `admin` for a
/// change an admin made to the stockroom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reference {
    /// An order (`purchase`, `checkout`) or a reservation (`reserve`, `confirm`, `cancel`,
    /// `expire`).
    Record(RecordId),
    /// `set`, `restock`, `adjust`, `transfer` and `retire`.
    Admin,
}

impl Reference {
    /// How [`Reference::Admin`] is written.
    pub const ADMIN: &'static str = "admin";

    /// Reads a movement's `ref` back: its kind says which kind of id it holds. `None` when
    /// `raw` is not what a movement of `kind` writes.
    pub fn parse_for(kind: EntryKind, raw: &str) -> Option<Self> {
        match kind {
            EntryKind::Set
            | EntryKind::Restock
            | EntryKind::Adjust
            | EntryKind::Transfer
            | EntryKind::Retire
            | EntryKind::Expect
            | EntryKind::Receive
            | EntryKind::Fill => (raw == Self::ADMIN).then_some(Self::Admin),
            EntryKind::Purchase
            | EntryKind::Checkout
            | EntryKind::Order
            | EntryKind::CancelOrder
            | EntryKind::Return => OrderId::parse(raw).map(|id| Self::Record(RecordId::Order(id))),
            // An order's cancel or return, or an adjustment.
            EntryKind::Damage | EntryKind::Restore | EntryKind::WriteOff => match raw {
                Self::ADMIN => Some(Self::Admin),
                raw => OrderId::parse(raw).map(|id| Self::Record(RecordId::Order(id))),
            },
            EntryKind::Reserve | EntryKind::Confirm | EntryKind::Cancel | EntryKind::Expire | EntryKind::Extend => {
                ReservationId::parse(raw).map(|id| Self::Record(RecordId::Reservation(id)))
            }
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Record(id) => id.fmt(f),
            Self::Admin => f.write_str(Self::ADMIN),
        }
    }
}

impl serde::Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "redis")]
impl redis::ToRedisArgs for Reference {
    fn write_redis_args<W: ?Sized + redis::RedisWrite>(&self, out: &mut W) {
        match self {
            Self::Record(id) => id.write_redis_args(out),
            Self::Admin => out.write_arg(Self::ADMIN.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_time() {
        let a = OrderId::generate_in(16383);
        // Within one millisecond the order is random: sort order is to the millisecond.
        std::thread::sleep(std::time::Duration::from_millis(2));
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
    fn ids_minted_together_share_only_time_version_variant_and_slot() {
        // Bits 48..128 less version (4) and variant (2) and slot (14): 60 random bits.
        // Over many ids minted in a burst, each of those bits must take both values.
        let ids: Vec<u128> = (0..2000).map(|_| OrderId::generate_in(42).0.as_u128()).collect();
        let (mut ones, mut zeros) = (0u128, 0u128);
        for id in &ids {
            ones |= id;
            zeros |= !id;
        }
        let varying = ones & zeros;
        let fixed_low: u128 = (0xF << 76) | (0x3 << 62) | 0x3FFF;
        let random_mask = ((1u128 << 80) - 1) & !fixed_low;
        assert_eq!(random_mask.count_ones(), 60);
        assert_eq!(varying & random_mask, random_mask, "every random bit varies");
        // No counter: consecutive ids in one millisecond are not a small step apart.
        let close = ids
            .windows(2)
            .filter(|w| w[0] >> 80 == w[1] >> 80 && w[1].abs_diff(w[0]) < (1u128 << 40))
            .count();
        assert!(close < 5, "{close} neighbours within 2^40 of each other");
    }

    #[test]
    #[cfg(feature = "redis")]
    fn ids_are_written_to_redis_as_their_text() {
        let order = OrderId::generate_in(5);
        let record = RecordId::Order(order);
        let args = redis::ToRedisArgs::to_redis_args(&record);
        assert_eq!(args, vec![order.to_string().into_bytes()]);
        assert_eq!(record.slot(), 5);
        assert_eq!(record.to_string(), order.to_string());
        let other = OrderId::generate_in(6).to_string();
        assert_eq!(record.parse_like(&other).map(|r| r.slot()), Some(6));
        let hold = RecordId::Reservation(ReservationId::generate_in(1));
        assert!(matches!(hold.parse_like(&other), Some(RecordId::Reservation(_))));
        assert_eq!(hold.parse_like("admin"), None);
    }

    #[test]
    fn a_movement_reference_is_read_by_its_kind() {
        let order = OrderId::generate_in(3);
        let hold = ReservationId::generate_in(4);
        let as_order = Reference::parse_for(EntryKind::Purchase, &order.to_string());
        assert_eq!(as_order, Some(Reference::Record(RecordId::Order(order))));
        let as_hold = Reference::parse_for(EntryKind::Confirm, &hold.to_string());
        assert_eq!(as_hold, Some(Reference::Record(RecordId::Reservation(hold))));
        assert_eq!(
            Reference::parse_for(EntryKind::Restock, "admin"),
            Some(Reference::Admin)
        );
        assert_eq!(Reference::parse_for(EntryKind::Purchase, "admin"), None);
        assert_eq!(Reference::parse_for(EntryKind::Transfer, &order.to_string()), None);
        assert_eq!(Reference::Admin.to_string(), "admin");
        #[cfg(feature = "redis")]
        assert_eq!(
            redis::ToRedisArgs::to_redis_args(&Reference::Admin),
            vec![b"admin".to_vec()]
        );
        assert_eq!(
            serde_json::to_string(&as_order.unwrap()).unwrap(),
            format!("\"{order}\"")
        );
    }

    #[test]
    fn foreign_forms_are_not_ours() {
        let id = ReservationId::generate_in(0).to_string();
        assert_eq!(
            ReservationId::parse(&id.to_uppercase()).map(|i| i.to_string()),
            Some(id.clone()),
            "UUIDs are case-insensitive; the canonical form is lowercase"
        );
        for bad in [
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            format!("{id} "),
            "00000000-0000-4000-8000-000000000000".into(),
            "../x".into(),
            "".into(),
        ] {
            assert!(ReservationId::parse(&bad).is_none(), "{bad}");
        }
    }
}
