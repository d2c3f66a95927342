//! Request bodies: one type per body. The handler deserializes it, the OpenAPI document
//! describes it, so a field cannot exist in one and not the other. Each converts with
//! `TryFrom` into checked domain types (the `New…` commands), refusing with a message that
//! names the field, in the order the fields are listed here.
//!
//! Fields are [`Field`]s, raw until converted: see its module for why serde's own errors
//! would not do. The `value_type` on each field is what the schema shows; the conversion
//! below it is what enforces it, through the domain type's `parse`.

use crate::convert;
use crate::demo::{MAX_BUYERS, Rush};
use crate::domain::{
    Available, CartItems, CartLine, Field, InvalidInput, Location, Quantity, Sku, Strategy, TtlSeconds, UserId,
    whole_in,
};
use serde::Deserialize;
use utoipa::ToSchema;

/// `POST /v1/purchases`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"sku": "ps5", "quantity": 1, "user_id": "alice"}))]
pub struct PurchaseRequest {
    /// The SKU to buy.
    #[serde(default)]
    #[schema(value_type = Sku, required = true)]
    pub sku: Field,
    /// Units to buy.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 1_000_000, example = 1)]
    pub quantity: Field,
    /// Who buys: 1-128 characters, no control characters.
    #[serde(default)]
    #[schema(value_type = UserId, required = true)]
    pub user_id: Field,
    /// Pins the purchase to one of the SKU's locations; without it, locations are drawn
    /// from in priority order.
    #[serde(default)]
    #[schema(value_type = Option<Location>)]
    pub location: Field,
}

/// A checked purchase.
#[derive(Debug, serde::Serialize)]
pub struct NewPurchase {
    /// What to buy.
    pub sku: Sku,
    /// How many.
    pub quantity: Quantity,
    /// Who buys.
    pub user: UserId,
    /// The one location to draw from, if pinned.
    pub location: Option<Location>,
}

impl TryFrom<&PurchaseRequest> for NewPurchase {
    type Error = InvalidInput;

    fn try_from(body: &PurchaseRequest) -> Result<Self, InvalidInput> {
        Ok(Self {
            sku: Sku::parse(body.sku.required("sku")?.as_str().unwrap_or_default())?,
            quantity: Quantity::parse(body.quantity.required("quantity")?, "quantity")?,
            user: UserId::parse(body.user_id.required("user_id")?)?,
            location: Location::parse_optional(body.location.get(), "location")?,
        })
    }
}

/// `POST /v1/checkouts`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"user_id": "alice", "items": [{"sku": "ps5", "quantity": 1}, {"sku": "controller", "quantity": 2}]}))]
pub struct CheckoutRequest {
    /// Who buys.
    #[serde(default)]
    #[schema(value_type = UserId, required = true)]
    pub user_id: Field,
    /// 1-100 lines, each SKU once.
    #[serde(default)]
    #[schema(value_type = Vec<CartLine>, required = true, min_items = 1, max_items = 100)]
    pub items: Field,
}

/// A checked cart.
#[derive(Debug, serde::Serialize)]
pub struct NewCart {
    /// Who buys.
    pub user: UserId,
    /// What, all or nothing.
    pub items: CartItems,
}

impl TryFrom<&CheckoutRequest> for NewCart {
    type Error = InvalidInput;

    fn try_from(body: &CheckoutRequest) -> Result<Self, InvalidInput> {
        Ok(Self {
            user: UserId::parse(body.user_id.required("user_id")?)?,
            items: CartItems::parse(body.items.get())?,
        })
    }
}

/// `POST /v1/reservations`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"user_id": "alice", "items": [{"sku": "ps5", "quantity": 1}], "ttl_seconds": 600}))]
pub struct ReserveRequest {
    /// Who holds.
    #[serde(default)]
    #[schema(value_type = UserId, required = true)]
    pub user_id: Field,
    /// 1-100 lines, each SKU once.
    #[serde(default)]
    #[schema(value_type = Vec<CartLine>, required = true, min_items = 1, max_items = 100)]
    pub items: Field,
    /// How long the hold lasts, seconds (default 600 when absent; `null` is refused).
    #[serde(default)]
    #[schema(value_type = u32, required = false, minimum = 1, maximum = 86_400, example = 600)]
    pub ttl_seconds: Field,
}

/// A checked hold.
#[derive(Debug, serde::Serialize)]
pub struct NewHold {
    /// Who holds.
    pub user: UserId,
    /// What, all or nothing.
    pub items: CartItems,
    /// For how long.
    pub ttl: TtlSeconds,
}

impl TryFrom<&ReserveRequest> for NewHold {
    type Error = InvalidInput;

    fn try_from(body: &ReserveRequest) -> Result<Self, InvalidInput> {
        Ok(Self {
            user: UserId::parse(body.user_id.required("user_id")?)?,
            items: CartItems::parse(body.items.get())?,
            ttl: TtlSeconds::parse(body.ttl_seconds.get())?,
        })
    }
}

/// `POST /v1/reservations/{id}/extend`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"ttl_seconds": 600}))]
pub struct ExtendRequest {
    /// The hold now lapses this many seconds from now.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 86_400, example = 600)]
    pub ttl_seconds: Field,
}

impl TryFrom<&ExtendRequest> for TtlSeconds {
    type Error = InvalidInput;

    fn try_from(body: &ExtendRequest) -> Result<Self, InvalidInput> {
        TtlSeconds::parse(Some(body.ttl_seconds.required("ttl_seconds")?))
    }
}

/// `PUT /v1/skus/{sku}/stock`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"available": 100}))]
pub struct SetStockRequest {
    /// The new `available`.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 0, maximum = 1_000_000_000, example = 100)]
    pub available: Field,
    /// Units of it never sold (v1.5); absent: unchanged.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000_000, example = 5)]
    pub safety_stock: Field,
}

/// A checked stock level, with the safety stock when given.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum NewStock {
    /// A level alone, fingerprinted as the bare number it was before v1.5, so an
    /// `Idempotency-Key` first used then still matches its request.
    Level(Available),
    /// A level and its safety stock.
    WithSafety {
        /// The level.
        available: Available,
        /// Units of it never sold.
        safety_stock: Available,
    },
}

impl TryFrom<&SetStockRequest> for NewStock {
    type Error = InvalidInput;

    fn try_from(body: &SetStockRequest) -> Result<Self, InvalidInput> {
        let available = Available::parse(body.available.required("available")?, "available")?;
        Ok(match safety(&body.safety_stock)? {
            None => Self::Level(available),
            Some(safety_stock) => Self::WithSafety {
                available,
                safety_stock,
            },
        })
    }
}

/// An optional `safety_stock` field: absent or `null` leaves it as it is.
pub(super) fn safety(field: &Field) -> Result<Option<Available>, InvalidInput> {
    match field.optional() {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => Available::parse(v, "safety_stock").map(Some),
    }
}

/// `POST /v1/skus/{sku}/restock`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"quantity": 10}))]
pub struct RestockRequest {
    /// Units to add to `available`.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 1_000_000, example = 10)]
    pub quantity: Field,
    /// Where the delivery arrived; `default` when absent. A named one must exist.
    #[serde(default)]
    #[schema(value_type = Option<Location>)]
    pub location: Field,
}

/// A checked restock.
#[derive(Debug, serde::Serialize)]
pub struct NewRestock {
    /// Units received.
    pub quantity: Quantity,
    /// Where, if named.
    pub location: Option<Location>,
}

impl TryFrom<&RestockRequest> for NewRestock {
    type Error = InvalidInput;

    fn try_from(body: &RestockRequest) -> Result<Self, InvalidInput> {
        Ok(Self {
            quantity: Quantity::parse(body.quantity.required("quantity")?, "quantity")?,
            location: Location::parse_optional(body.location.get(), "location")?,
        })
    }
}

/// `POST /v1/demo/rush`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"sku": "ps5", "buyers": 500, "stock": 100, "strategy": "watch", "batching": false}))]
pub struct RushRequest {
    /// The SKU to rush; its stock is set to `stock` first.
    #[serde(default)]
    #[schema(value_type = Sku, required = true)]
    pub sku: Field,
    /// Buyers launched at once, each buying one unit.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 5000, example = 500)]
    pub buyers: Field,
    /// Units in stock before the rush.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 0, maximum = 1_000_000_000, example = 100)]
    pub stock: Field,
    /// How every buyer buys (default watch).
    #[serde(default)]
    #[schema(value_type = Option<Strategy>)]
    pub strategy: Field,
    /// Group commit for `watch` buyers (default: the server's `--batching`).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub batching: Field,
}

/// A checked rush.
#[derive(Debug)]
pub struct NewRush {
    /// What to run.
    pub rush: Rush,
    /// Group commit for this rush, when the body overrides the server's.
    pub batching: Option<bool>,
}

impl TryFrom<&RushRequest> for NewRush {
    type Error = InvalidInput;

    fn try_from(body: &RushRequest) -> Result<Self, InvalidInput> {
        let sku = Sku::parse(body.sku.required("sku")?.as_str().unwrap_or_default())?;
        let buyers = whole_in(body.buyers.required("buyers")?, "buyers", 1..=MAX_BUYERS)?;
        let stock = Available::parse(body.stock.required("stock")?, "stock")?;
        // Absent or null is the default; anything but a strategy's name is refused.
        let strategy = Strategy::parse(body.strategy.optional().map(|v| v.as_str().unwrap_or_default()))?;
        let batching = match body.batching.optional() {
            None => None,
            Some(serde_json::Value::Bool(on)) => Some(*on),
            Some(_) => return Err(InvalidInput::new("batching must be true or false")),
        };
        Ok(Self {
            rush: Rush {
                sku,
                buyers,
                stock,
                strategy,
            },
            batching,
        })
    }
}

/// `POST /v1/demo/replay`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"strategy": "broken", "buyers": 2, "stock": 1}))]
pub struct ReplayRequest {
    /// `broken` (the lost update) or `watch` (WATCH aborts it).
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "broken", pattern = "^(broken|watch)$")]
    pub strategy: Field,
    /// Buyers, named A to Z (default 2).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 26, example = 2)]
    pub buyers: Field,
    /// Units in stock before the first step (default 1).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1000, example = 1)]
    pub stock: Field,
}

/// A checked replay.
#[derive(Debug)]
pub struct NewReplay {
    /// `broken` or `watch`.
    pub strategy: Strategy,
    /// Buyers.
    pub buyers: usize,
    /// Units.
    pub stock: i64,
}

impl TryFrom<&ReplayRequest> for NewReplay {
    type Error = InvalidInput;

    fn try_from(body: &ReplayRequest) -> Result<Self, InvalidInput> {
        let strategy = match body.strategy.required("strategy")?.as_str() {
            Some("broken") => Strategy::Broken,
            Some("watch") => Strategy::Watch,
            _ => return Err(InvalidInput::new("strategy must be broken or watch")),
        };
        let max = crate::demo::MAX_REPLAY_BUYERS as u64;
        // Absent or null is the default.
        let number = |field: &Field, name: &str, range, default| {
            field.optional().map_or(Ok(default), |v| whole_in(v, name, range))
        };
        Ok(Self {
            strategy,
            buyers: convert::usize_of(number(&body.buyers, "buyers", 1..=max, 2)?),
            stock: convert::i64_of(number(&body.stock, "stock", 0..=1000, 1)?),
        })
    }
}
