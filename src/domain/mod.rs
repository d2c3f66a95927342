//! Domain newtypes. Each is built only through `parse`, so a value of the type is proof that
//! the input was checked ("parse, don't validate"). The error message names the field, which
//! is what the API's `400 invalid_request` promises.

mod idempotency_key;
mod ids;
mod items;
mod limit;
mod quantity;
mod sku;
mod status;
mod strategy;
mod ttl;
mod user_id;

pub use idempotency_key::IdempotencyKey;
pub use ids::{OrderId, ReservationId};
pub use items::{CartItem, CartItems};
pub use limit::Limit;
pub use quantity::{Available, Quantity};
pub use sku::Sku;
pub use status::ReservationStatus;
pub use strategy::Strategy;
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
}
