use super::idempotency::Idempotency;
use super::level::Allocation;
use super::sell::sell;
use super::take::Taken;
use super::{Effort, OrderSource};
use crate::Inventory;
use crate::domain::{CartItems, OrderId, PoRef, Quantity, Sku, Strategy, UserId};
use crate::error::Error;
use serde::Serialize;

/// One line of a completed checkout or a new reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckoutLine {
    /// What was bought.
    pub sku: Sku,
    /// How many.
    pub quantity: Quantity,
    /// `available` right after this checkout.
    pub remaining: i64,
    /// Where the units came from.
    pub allocations: Vec<Allocation>,
    /// Sold (or held) against incoming stock, waiting for `purchase_order` (v1.5).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preorder: bool,
    /// The purchase order a preorder waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub purchase_order: Option<PoRef>,
}

impl CheckoutLine {
    /// Pairs each cart line with what it left and where it was drawn from.
    pub(crate) fn zip(items: &CartItems, taken: Taken) -> Vec<Self> {
        items
            .lines()
            .iter()
            .zip(taken.remaining)
            .zip(taken.drawn)
            .map(|((l, remaining), allocations)| Self {
                sku: l.sku.clone(),
                quantity: l.quantity,
                remaining,
                purchase_order: Allocation::preorder_of(&allocations).cloned(),
                preorder: Allocation::preorder_of(&allocations).is_some(),
                allocations,
            })
            .collect()
    }
}

/// A completed cart: the `201` body of `POST /v1/checkouts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Checkout {
    /// The new order.
    pub order_id: OrderId,
    /// Every line, in cart order.
    pub items: Vec<CheckoutLine>,
    /// Attempts and conflicts it took.
    #[serde(flatten)]
    pub effort: Effort,
}

/// Buys a whole cart, all or nothing: one transaction watches every SKU, so either every line
/// is taken or none is, and a refusal lists every short line.
pub async fn checkout(
    store: &Inventory,
    strategy: Strategy,
    items: &CartItems,
    user: &UserId,
    idem: Option<&Idempotency>,
) -> Result<Checkout, Error> {
    let (order_id, taken) = sell(store, strategy, items, user, OrderSource::Checkout, idem).await?;
    Ok(Checkout {
        order_id,
        effort: taken.effort,
        items: CheckoutLine::zip(items, taken),
    })
}
