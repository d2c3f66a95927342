//! A purchase order as its SKU's stock hash keeps it, with its preorder queue (v1.5).
//!
//! One field per order, `po:REF` →
//! `quantity,received,expected_at_ms,location[,next,filled;s:q,s:q,…]`: short enough to keep
//! the hash a listpack until preorders queue on it. The part after `next` exists once a
//! preorder was taken:
//! - `next`: units ever preordered on this order; a new preorder's `position` is `next`
//!   before it, so positions are unique and grow in arrival order;
//! - `filled`: the position up to which receipts have filled the queue;
//! - `s:q`: each preorder still (partly) waiting, oldest first: its position and units.
//!
//! A receipt fills the queue oldest first and drops what it filled in full; cancelling a
//! preorder drops its entry, so a later receipt skips it. A preorder's units still waiting
//! are `s + q − max(filled, s)` while its entry is queued, none once it is gone. The same
//! reading and writing is in `lua/take.lua`, which appends to the queue.

use crate::allocation::Allocation;
use crate::domain::{Location, PoRef, Sku, Timestamp};
use crate::error::StoreError;
use serde::Serialize;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// A SKU's preorder settings (`PUT /v1/skus/{sku}/preorders`, v1.5): kept in its stock
/// hash (`pre`: empty, or the limit) so a take reads them with the level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Preorders {
    /// At most this many units preordered at once, across its purchase orders; none: as
    /// many as are on their way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

impl Preorders {
    /// The stock-hash field holding them.
    pub const FIELD: &'static str = "pre";

    /// The field's value.
    pub fn encode(&self) -> String {
        self.limit.map(|l| l.to_string()).unwrap_or_default()
    }

    pub(crate) fn decode(text: &str) -> Option<Self> {
        match text {
            "" => Some(Self { limit: None }),
            n => n.parse().ok().map(|l| Self { limit: Some(l) }),
        }
    }
}

/// A purchase order of one SKU, as `…/incoming` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PurchaseOrder {
    /// The shop's reference.
    #[serde(rename = "ref")]
    pub reference: PoRef,
    /// Units ordered.
    pub quantity: i64,
    /// Units received so far.
    pub received: i64,
    /// When they are expected (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub expected_at: Timestamp,
    /// Where they will arrive.
    #[schema(value_type = String)]
    pub location: Location,
    /// Units of it already sold or held as preorders, waiting for it.
    pub preordered: i64,
    /// Units ever preordered on it: the next preorder's position.
    #[serde(skip)]
    pub(crate) next: i64,
    /// The position up to which receipts filled its queue.
    #[serde(skip)]
    pub(crate) filled: i64,
    /// Preorders waiting, oldest first: (position, units).
    #[serde(skip)]
    pub(crate) queue: Vec<(i64, i64)>,
}

/// The stock-hash field prefix of purchase orders.
pub(crate) const PREFIX: &str = "po:";

impl PurchaseOrder {
    /// A new order with nothing received nor preordered.
    pub(crate) fn new(reference: PoRef, quantity: i64, expected_at: Timestamp, location: Location) -> Self {
        Self {
            reference,
            quantity,
            received: 0,
            expected_at,
            location,
            preordered: 0,
            next: 0,
            filled: 0,
            queue: Vec::new(),
        }
    }

    /// Units still on their way.
    pub fn remaining(&self) -> i64 {
        self.quantity - self.received
    }

    /// Units on their way not promised to a preorder yet.
    pub fn room(&self) -> i64 {
        self.remaining() - self.preordered
    }

    /// Its field in the stock hash.
    pub(crate) fn field(reference: &PoRef) -> String {
        format!("{PREFIX}{reference}")
    }

    /// Its field's value.
    pub(crate) fn encode(&self) -> String {
        let at = self.expected_at.millis();
        let mut text = format!("{},{},{at},{}", self.quantity, self.received, self.location);
        if self.next > 0 {
            let queue: Vec<String> = self.queue.iter().map(|(s, q)| format!("{s}:{q}")).collect();
            text.push_str(&format!(",{},{};{}", self.next, self.filled, queue.join(",")));
        }
        text
    }

    pub(crate) fn decode(reference: PoRef, text: &str) -> Option<Self> {
        let (head, queue) = text.split_once(';').unwrap_or((text, ""));
        let mut parts = head.split(',');
        let mut num = || parts.next()?.parse::<i64>().ok();
        let (quantity, received, at) = (num()?, num()?, num()?);
        let location = Location::parse(parts.next()?, "location").ok()?;
        let mut num = || parts.next().map_or(Some(0), |p| p.parse::<i64>().ok());
        let (next, filled) = (num()?, num()?);
        let queue = queue
            .split(',')
            .filter(|e| !e.is_empty())
            .map(|e| {
                let (s, q) = e.split_once(':')?;
                Some((s.parse().ok()?, q.parse().ok()?))
            })
            .collect::<Option<Vec<(i64, i64)>>>()?;
        let mut order = Self {
            next,
            filled,
            queue,
            ..Self::new(reference, quantity, Timestamp::from_millis(at)?, location)
        };
        order.received = received;
        order.preordered = order.queue.iter().map(|&(s, q)| order.waiting_in(s, q)).sum();
        Some(order)
    }

    /// Units of a preorder at `position` (of `quantity` units) that wait while it is
    /// queued: none once receipts filled past it.
    pub(crate) fn waiting_in(&self, position: i64, quantity: i64) -> i64 {
        (position + quantity - self.filled.max(position)).clamp(0, quantity)
    }

    /// Units of the preorder at `position` still waiting: none once filled or cancelled.
    pub fn waiting(&self, position: i64) -> i64 {
        self.queue
            .iter()
            .find(|(s, _)| *s == position)
            .map_or(0, |&(s, q)| self.waiting_in(s, q))
    }

    /// Queues a preorder of `quantity` units; its position.
    pub(crate) fn enqueue(&mut self, quantity: i64) -> i64 {
        let position = self.next;
        self.next += quantity;
        self.queue.push((position, quantity));
        self.preordered += quantity;
        position
    }

    /// Fills up to `units` waiting units, oldest first: how many it filled.
    pub(crate) fn fill(&mut self, units: i64) -> i64 {
        let mut left = units.min(self.preordered);
        let filled = left;
        while left > 0 {
            let Some(&(s, q)) = self.queue.first() else { break };
            let start = self.filled.max(s);
            let take = (s + q - start).min(left);
            self.filled = start + take;
            left -= take;
            if self.filled >= s + q {
                self.queue.remove(0);
            }
        }
        self.preordered -= filled;
        filled
    }

    /// Drops the preorder at `position` from the queue: the units of it still waiting,
    /// given back to the order's room.
    pub(crate) fn dequeue(&mut self, position: i64) -> i64 {
        let waiting = self.waiting(position);
        self.queue.retain(|(s, _)| *s != position);
        self.preordered -= waiting;
        waiting
    }

    /// A line the shelf cannot cover, as a preorder: all `quantity` units against the
    /// soonest expected of `orders` (at `pin`, when given) with room for them, while the
    /// SKU's `preordered` units stay within its limit. `None` when nothing has the room.
    /// The script does the same (`crates/ops/src/lua/take.lua`).
    pub(crate) fn draw(
        orders: &[Self],
        preorders: Preorders,
        preordered: i64,
        quantity: i64,
        pin: Option<&Location>,
    ) -> Option<Allocation> {
        if preorders.limit.is_some_and(|l| preordered + quantity > l) {
            return None;
        }
        orders
            .iter()
            .filter(|o| pin.is_none_or(|p| *p == o.location))
            .find(|o| o.room() >= quantity)
            .map(|o| Allocation::preorder(o.location.clone(), quantity, o.reference.clone(), o.next))
    }

    /// What a release (a cancel, an expiry) makes of allocation `a`, given its purchase
    /// order as read (`orders`: the SKU's): units for the shelf (a preorder's filled ones
    /// among them), and a preorder's units still waiting, which go back to the order.
    pub(crate) fn split(a: Allocation, orders: &[Self]) -> (Option<Allocation>, Option<Allocation>) {
        let (Some(reference), Some(position)) = (&a.purchase_order, a.position) else {
            return (Some(a), None);
        };
        let waiting = orders
            .iter()
            .find(|o| &o.reference == reference)
            .map_or(0, |o| o.waiting(position))
            .min(a.quantity);
        let shelf = (a.quantity > waiting).then(|| Allocation::at(a.location.clone(), a.quantity - waiting));
        let waiting = (waiting > 0).then_some(Allocation { quantity: waiting, ..a });
        (shelf, waiting)
    }

    /// Units of a line drawn as `drawn` still waiting for their purchase orders (`orders`:
    /// the SKU's, as read).
    pub(crate) fn waiting_in_line(drawn: &[Allocation], orders: &[Self]) -> i64 {
        drawn
            .iter()
            .filter_map(|a| Self::split(a.clone(), orders).1)
            .map(|a| a.quantity)
            .sum()
    }

    /// Every purchase order in a stock hash as read, soonest expected first.
    pub(crate) fn all_of<S: BuildHasher>(
        sku: &Sku,
        fields: &HashMap<String, String, S>,
    ) -> Result<Vec<Self>, StoreError> {
        let mut orders = fields
            .iter()
            .filter_map(|(name, text)| Some((name.strip_prefix(PREFIX)?, text)))
            .map(|(reference, text)| {
                PoRef::parse(reference, "ref")
                    .ok()
                    .and_then(|r| Self::decode(r, text))
                    .ok_or_else(|| {
                        StoreError::Protocol(format!("stock of {sku}: bad purchase order {reference}").into())
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        orders.sort_by(|a, b| (a.expected_at, &a.reference).cmp(&(b.expected_at, &b.reference)));
        Ok(orders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> PurchaseOrder {
        PurchaseOrder::new(
            PoRef::parse("PO-1", "ref").unwrap(),
            10,
            Timestamp::from_millis(1_000).unwrap(),
            Location::default_location(),
        )
    }

    #[test]
    fn receipts_fill_the_queue_oldest_first_and_skip_cancelled_preorders() {
        let mut po = order();
        assert_eq!(
            PurchaseOrder::decode(po.reference.clone(), &po.encode()),
            Some(po.clone())
        );
        let (a, b, c) = (po.enqueue(3), po.enqueue(4), po.enqueue(2));
        assert_eq!((a, b, c, po.preordered, po.room()), (0, 3, 7, 9, 1));
        // 5 units: all of A, 2 of B.
        assert_eq!(po.fill(5), 5);
        assert_eq!((po.waiting(a), po.waiting(b), po.waiting(c)), (0, 2, 2));
        // Cancelling B gives back what of it still waits; C is next.
        assert_eq!(po.dequeue(b), 2);
        assert_eq!(po.fill(1), 1);
        assert_eq!((po.waiting(c), po.preordered), (1, 1));
        let text = po.encode();
        assert_eq!(text, "10,0,1000,default,9,8;7:2");
        assert_eq!(PurchaseOrder::decode(po.reference.clone(), &text), Some(po.clone()));
        // A fill beyond what waits fills only that.
        assert_eq!(po.fill(5), 1);
        assert!(po.queue.is_empty());
        assert_eq!(
            PurchaseOrder::decode(po.reference.clone(), "10,0,1000,default"),
            Some(order())
        );
    }
}
