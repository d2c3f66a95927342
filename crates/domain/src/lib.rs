//! Domain newtypes. Each is built only through `parse`, so a value of the type is proof that
//! the input was checked ("parse, don't validate"). The error message names the field, which
//! is what the API's `400 invalid_request` promises.
//!
//! The types live in a crate of their own so that the server and its clients
//! (`stockwatch-client`) speak one vocabulary: a client cannot send a SKU the server would
//! refuse for its form. The glue a client does not need is behind features: `redis`
//! (ids written into commands), `openapi` (schemas for the contract), `clap` (the CLI).
//!
//! - [`convert`]: number conversions that saturate instead of wrapping.

mod adjustment;
mod after_sale;
mod alert_kind;
mod api_key;
mod catalog_row;
pub mod convert;
mod field;
mod idempotency_key;
mod ids;
mod items;
mod kind;
mod limit;
mod location;
mod purchase_order;
mod quantity;
mod return_items;
mod seen;
mod sku;
mod sku_prefix;
mod status;
mod strategy;
mod strict_json;
mod ticket;
mod timestamp;
mod ttl;
mod user_id;

pub use adjustment::{Adjusted, Correction, Reason};
pub use after_sale::{Disposition, OrderStatus};
pub use alert_kind::AlertKind;
pub use api_key::{ApiKey, KeyId, Scope, Scopes};
pub use catalog_row::CatalogRow;
pub use field::Field;
pub use idempotency_key::IdempotencyKey;
pub use ids::{CLUSTER_SLOTS, ID_TEXT, OrderId, RecordId, Reference, ReservationId, ReturnId};
pub use items::{CartItem, CartItems, CartLine};
pub use kind::EntryKind;
pub use limit::Limit;
pub use location::{Location, Priority};
pub use purchase_order::PoRef;
pub use quantity::{Available, Quantity};
pub use return_items::{ReturnItem, ReturnItems, ReturnLineRequest};
pub use seen::Seen;
pub use sku::Sku;
pub use sku_prefix::SkuPrefix;
pub use status::ReservationStatus;
pub use strategy::Strategy;
pub use strict_json::{Top, check_strict, strict_json};
pub use ticket::{Admissions, Ticket};
pub use timestamp::Timestamp;
pub use ttl::TtlSeconds;
pub use user_id::UserId;

/// Why an input was refused; the message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    /// Builds the error from anything printable, keeping call sites short.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The error of a field inside `parent` (`items[2]`): its message with the parent's
    /// path in front. Callers name the parent only once a field failed, so a valid line
    /// formats no paths.
    pub fn within(self, parent: impl std::fmt::Display) -> Self {
        Self(format!("{parent}.{}", self.0))
    }
}

/// A JSON number that is a non-negative whole number, as JSON Schema counts them: `7` and
/// `7.0` are the same integer; `7.5`, `-1`, `"7"` and `1e30` are not.
pub fn whole_number(value: &serde_json::Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        let f = value.as_f64()?;
        (f.fract() == 0.0 && (0.0..=9.0e15).contains(&f)).then_some(crate::convert::u64_from_f64(f))
    })
}

/// A [`whole_number`] in `range`, or a refusal naming the field and the range.
pub fn whole_in(
    value: &serde_json::Value,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, InvalidInput> {
    whole_number(value).filter(|n| range.contains(n)).ok_or_else(|| {
        InvalidInput::new(format!(
            "{name} must be an integer from {} to {}",
            range.start(),
            range.end()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::whole_number;
    use serde_json::json;

    #[test]
    fn whole_numbers_as_json_schema_counts_them() {
        assert_eq!(whole_number(&json!(7)), Some(7));
        assert_eq!(whole_number(&json!(7.0)), Some(7));
        assert_eq!(whole_number(&json!(0)), Some(0));
        for not in [
            json!(7.5),
            json!(-1),
            json!(-1.0),
            json!("7"),
            json!(1e30),
            json!(null),
            json!(true),
        ] {
            assert_eq!(whole_number(&not), None, "{not}");
        }
    }
}
