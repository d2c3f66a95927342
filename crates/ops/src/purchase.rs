use super::idempotency::Idempotency;
use super::level::Allocation;
use super::sell::sell;
use super::{Effort, OrderSource};
use crate::Inventory;
use crate::domain::{CartItems, Location, OrderId, Quantity, Sku, Strategy, UserId};
use crate::error::Error;
use serde::Serialize;

/// A completed single-SKU purchase: the `201` body of `POST /v1/purchases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Purchase {
    /// The new order.
    pub order_id: OrderId,
    /// What was bought.
    pub sku: Sku,
    /// How many.
    pub quantity: Quantity,
    /// `available` right after this purchase.
    pub remaining: i64,
    /// Where the units came from.
    pub allocations: Vec<Allocation>,
    /// Sold against incoming stock, waiting for `purchase_order` (v1.5).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preorder: bool,
    /// The purchase order a preorder waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub purchase_order: Option<crate::domain::PoRef>,
    /// Attempts and conflicts it took.
    #[serde(flatten)]
    pub effort: Effort,
}

/// Buys `quantity` of one SKU: a one-line checkout with its own answer shape.
pub async fn purchase(
    store: &Inventory,
    strategy: Strategy,
    sku: &Sku,
    quantity: Quantity,
    user: &UserId,
    idem: Option<&Idempotency>,
) -> Result<Purchase, Error> {
    purchase_from(store, strategy, sku, quantity, None, user, idem).await
}

/// [`purchase`], drawn from `location` alone when it is given.
pub async fn purchase_from(
    store: &Inventory,
    strategy: Strategy,
    sku: &Sku,
    quantity: Quantity,
    location: Option<&Location>,
    user: &UserId,
    idem: Option<&Idempotency>,
) -> Result<Purchase, Error> {
    let items = CartItems::single_at(sku.clone(), quantity, location.cloned());
    let (order_id, taken) = sell(store, strategy, &items, user, OrderSource::Purchase, idem).await?;
    let allocations = taken.drawn.into_iter().next().unwrap_or_default();
    let purchase_order = Allocation::preorder_of(&allocations).cloned();
    Ok(Purchase {
        order_id,
        sku: sku.clone(),
        quantity,
        remaining: taken.remaining[0],
        effort: taken.effort,
        preorder: purchase_order.is_some(),
        purchase_order,
        allocations,
    })
}
