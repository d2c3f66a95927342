//! A SKU's sale settings (a drop): when takes open and close, and how much one customer may
//! take. `PUT` and `GET /v1/skus/{sku}/sale` are `crate::set_sale`.
//!
//! The settings live in the SKU's stock hash, as one field (`sale`), so every take reads
//! them with the level it reads anyway: a SKU without a sale costs a take nothing. What a
//! customer has taken is counted in the SKU's slot (`Keys::customers`), in the same
//! transaction or script as the take, and only for SKUs with a limit:
//! - `u:USER`: units taken by purchases, checkout lines and holds (a hold stops counting
//!   when it is cancelled or expires; a confirmed hold stays counted);
//! - `h:USER`: the customer's active holds on the SKU.
//!
//! The instant a sale opens or closes is decided on Redis's clock (`TIME`), read in the
//! take's own transaction or script, so servers whose clocks disagree open it at one
//! instant. A window needs the clock; a limit needs the count: a take reads either only
//! when the stock hash says the SKU has one (`txn::Optimistic::read_more`).

use crate::domain::{Timestamp, UserId};
use crate::error::{SaleWindow as Window, StoreError};
use serde::Serialize;

/// The stock hash field that holds the settings: `opens,closes,limit,holds,rate,ttl` in
/// epoch ms, units, admissions a second and seconds, each empty when not set
/// (`lua/take.lua` and `lua/queue_join.lua` read the same form).
pub const FIELD: &str = "sale";

/// A SKU's sale settings, as stored and as the API shows them (`null`: not set). A SKU
/// with none has no `sale` field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Sale {
    /// Takes before it are refused with `not_on_sale` (RFC 3339, UTC).
    #[schema(schema_with = crate::domain::Timestamp::nullable_schema)]
    pub opens_at: Option<Timestamp>,
    /// Takes at or after it are refused with `not_on_sale`.
    #[schema(schema_with = crate::domain::Timestamp::nullable_schema)]
    pub closes_at: Option<Timestamp>,
    /// Units one customer (`user_id`) may buy and hold of the SKU, over all their calls.
    pub per_customer_limit: Option<i64>,
    /// Active holds one customer may have on the SKU at once.
    pub max_active_holds_per_customer: Option<i64>,
    /// A waiting room: takes need an admission (`crate::queue`).
    pub queue: Option<QueueTerms>,
}

/// A waiting room's pace: how many customers it admits a second, and for how long each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueueTerms {
    /// Customers admitted a second, on Redis's clock.
    #[schema(minimum = 1, maximum = 100_000)]
    pub admit_per_s: i64,
    /// How long an admission lasts, from the instant it is granted.
    #[schema(minimum = 1, maximum = 3_600)]
    pub admission_ttl_s: i64,
}

impl Sale {
    /// Whether nothing is set (the field is then removed).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether a take must read Redis's clock.
    pub fn has_window(&self) -> bool {
        self.opens_at.is_some() || self.closes_at.is_some() || self.queue.is_some()
    }

    /// Whether a take must find an admission for its customer (and so read the clock).
    pub fn queued(&self) -> bool {
        self.queue.is_some()
    }

    /// Whether a take must read and keep its customer's count.
    pub fn counts(&self) -> bool {
        self.per_customer_limit.is_some() || self.max_active_holds_per_customer.is_some()
    }

    /// What the clock says at `now_ms` (Redis's `TIME`), `None` when takes are open.
    pub fn window_at(&self, now_ms: i64) -> Option<Window> {
        match (self.opens_at, self.closes_at) {
            (Some(o), _) if now_ms < o.millis() => Some(Window::NotOpen(o)),
            (_, Some(c)) if now_ms >= c.millis() => Some(Window::Closed(c)),
            _ => None,
        }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "{},{},{},{},{},{}",
            n(self.opens_at.map(Timestamp::millis)),
            n(self.closes_at.map(Timestamp::millis)),
            n(self.per_customer_limit),
            n(self.max_active_holds_per_customer),
            n(self.queue.map(|q| q.admit_per_s)),
            n(self.queue.map(|q| q.admission_ttl_s)),
        )
    }

    /// Reads the stored form back.
    pub fn decode(raw: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::Protocol(format!("sale settings {raw:?} are corrupt").into());
        let parts: Vec<&str> = raw.split(',').collect();
        let (o, c, l, h, rate, ttl) = match parts[..] {
            [o, c, l, h] => (o, c, l, h, "", ""),
            [o, c, l, h, rate, ttl] => (o, c, l, h, rate, ttl),
            _ => return Err(bad()),
        };
        let n = |s: &str| -> Result<Option<i64>, StoreError> {
            (!s.is_empty()).then(|| s.parse().map_err(|_| bad())).transpose()
        };
        let t = |s: &str| -> Result<Option<Timestamp>, StoreError> {
            n(s)?.map(|ms| Timestamp::from_millis(ms).ok_or_else(bad)).transpose()
        };
        Ok(Self {
            opens_at: t(o)?,
            closes_at: t(c)?,
            per_customer_limit: n(l)?,
            max_active_holds_per_customer: n(h)?,
            queue: match (n(rate)?, n(ttl)?) {
                (Some(admit_per_s), Some(admission_ttl_s)) => Some(QueueTerms {
                    admit_per_s,
                    admission_ttl_s,
                }),
                (None, None) => None,
                _ => return Err(bad()),
            },
        })
    }
}

/// One setting of a `PUT`: left as it is, cleared (`null`), or set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Change<T> {
    /// Not in the body.
    #[default]
    Keep,
    /// `null`.
    Clear,
    /// A value.
    Set(T),
}

impl<T: Copy> Change<T> {
    fn apply(self, now: Option<T>) -> Option<T> {
        match self {
            Self::Keep => now,
            Self::Clear => None,
            Self::Set(v) => Some(v),
        }
    }
}

/// A `PUT …/sale`: each setting kept, cleared or set (serialized, it is what an
/// Idempotency-Key's fingerprint compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SaleChange {
    /// `opens_at`.
    pub opens_at: Change<Timestamp>,
    /// `closes_at`.
    pub closes_at: Change<Timestamp>,
    /// `per_customer_limit`.
    pub per_customer_limit: Change<i64>,
    /// `max_active_holds_per_customer`.
    pub max_active_holds_per_customer: Change<i64>,
    /// `queue`.
    pub queue: Change<QueueTerms>,
}

impl SaleChange {
    pub(crate) fn apply(&self, sale: Sale) -> Sale {
        Sale {
            opens_at: self.opens_at.apply(sale.opens_at),
            closes_at: self.closes_at.apply(sale.closes_at),
            per_customer_limit: self.per_customer_limit.apply(sale.per_customer_limit),
            max_active_holds_per_customer: self
                .max_active_holds_per_customer
                .apply(sale.max_active_holds_per_customer),
            queue: self.queue.apply(sale.queue),
        }
    }
}

/// A customer's count fields in `Keys::customers`: units, then active holds.
pub(crate) fn count_fields(user: &UserId) -> [String; 2] {
    [format!("u:{user}"), format!("h:{user}")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_the_window_is_half_open() {
        let at = |ms| Timestamp::from_millis(ms).unwrap();
        let sale = Sale {
            opens_at: Some(at(1_000)),
            closes_at: Some(at(2_000)),
            per_customer_limit: Some(2),
            max_active_holds_per_customer: None,
            queue: None,
        };
        assert_eq!(Sale::decode(&sale.encode()).unwrap(), sale);
        assert_eq!(Sale::decode(",,,").unwrap(), Sale::default());
        assert!(Sale::decode("1,2,3").is_err());
        assert!(Sale::decode(",,,,5,").is_err(), "a pace without its ttl");
        let queued = Sale {
            queue: Some(QueueTerms {
                admit_per_s: 50,
                admission_ttl_s: 120,
            }),
            ..Sale::default()
        };
        assert_eq!(Sale::decode(&queued.encode()).unwrap(), queued);
        assert!(queued.queued() && queued.has_window() && !queued.counts());
        assert!(Sale::decode("x,,,").is_err());
        assert_eq!(sale.window_at(999), Some(Window::NotOpen(at(1_000))));
        assert_eq!(sale.window_at(1_000), None);
        assert_eq!(sale.window_at(1_999), None);
        assert_eq!(sale.window_at(2_000), Some(Window::Closed(at(2_000))));
        assert!(sale.counts() && sale.has_window());
        let change = SaleChange {
            opens_at: Change::Clear,
            per_customer_limit: Change::Set(5),
            ..SaleChange::default()
        };
        let changed = change.apply(sale);
        assert_eq!((changed.opens_at, changed.closes_at), (None, Some(at(2_000))));
        assert_eq!(changed.per_customer_limit, Some(5));
    }
}
