//! Selling a cart as a new order: the one path behind purchases and checkouts.

use super::idempotency::{Idempotency, StoredAnswer};
use super::journal::{Entry, encoded};
use super::saga::{self, CrossSlotCart, Parent};
use super::take::{Record, Take, Taken};
use super::{Order, OrderLine, OrderSource, now_ms};
use crate::Inventory;
use crate::domain::{CartItems, EntryKind, OrderId, RecordId, Reference, Strategy, UserId};
use crate::error::{Error, StoreError};

/// Sells a cart as a new order (purchase or checkout): builds the order once, then takes,
/// in one step, or as a saga when the cart spans cluster slots.
/// A replayed take answers with the first order's id, and writes nothing.
pub(crate) async fn sell(
    store: &Inventory,
    strategy: Strategy,
    items: &CartItems,
    user: &UserId,
    source: OrderSource,
    idem: Option<&Idempotency>,
) -> Result<(OrderId, Taken), Error> {
    let slot = store.keys().slot_of_cart(items);
    let order_id = OrderId::generate_in(slot);
    let at_ms = now_ms();
    let order = Order {
        order_id,
        user_id: user.clone(),
        items: OrderLine::of(items),
        created_at: at_ms,
        source,
        reservation_id: None,
        status: None,
        returns: Vec::new(),
    };
    let kind = match source {
        OrderSource::Purchase => EntryKind::Purchase,
        OrderSource::Checkout | OrderSource::Reservation => EntryKind::Checkout,
    };
    if saga::spans_slots(store, items) {
        // Boxed: a saga's future is large, and inline it would be moved on every sale.
        let taken = Box::pin(
            CrossSlotCart {
                store,
                strategy,
                items,
                scope: kind,
                idem,
                user_id: user.clone(),
                at_ms,
                parent: Parent::Order(order),
            }
            .run(),
        )
        .await?;
        return Ok((order_id_of(&taken)?, taken));
    }
    let idem = StoredAnswer::claim_if_keyed(store, kind.as_str(), idem, slot).await?;
    let entry = encoded(store, || {
        Entry::new(kind, Reference::Record(RecordId::Order(order.order_id)), at_ms)
            .lines(order.items.clone())
            .order(&order)
    });
    let take = Take {
        store: store.clone(),
        items: items.clone(),
        slot,
        kind,
        reference: RecordId::Order(order_id),
        record: Record::Order {
            key: store.keys().order(&order_id),
            json: order.to_json(),
            order: Box::new(order),
        },
        entry,
        at_ms,
        idem,
        deadline: store.deadline(),
        stock_keys: Default::default(),
    };
    let taken = take.run(strategy, items).await?;
    Ok((order_id_of(&taken)?, taken))
}

/// The order a take answered with (a replay's is the first call's, read back as an order
/// id because the take was an order's).
fn order_id_of(taken: &Taken) -> Result<OrderId, Error> {
    match taken.reference {
        RecordId::Order(id) => Ok(id),
        other => Err(StoreError::Protocol(format!("a sale answered with reservation {other}").into()).into()),
    }
}
