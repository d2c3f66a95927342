use super::stockroom::Change;
use super::{Stock, level_of, movement_with, now_ms, read_stock};
use crate::domain::{Location, Quantity, Sku};
use crate::error::{Error, Shortage};
use crate::store::Store;
use crate::txn::{Optimistic, Plan};
use std::collections::HashMap;

/// `POST /v1/skus/{sku}/transfers`: moves available units between two locations of one SKU
/// in one transaction, or refuses with `insufficient_stock` and changes nothing. The totals
/// do not move; `received` moves with the units, so each location stays conserved.
pub async fn transfer(
    store: &Store,
    sku: &Sku,
    from: &Location,
    to: &Location,
    quantity: Quantity,
) -> Result<Stock, Error> {
    let op = Transfer {
        store,
        sku,
        from,
        to,
        quantity,
        at_ms: now_ms(),
    };
    super::run_admin(store, "transfer", sku, &op).await
}

struct Transfer<'a> {
    store: &'a Store,
    sku: &'a Sku,
    from: &'a Location,
    to: &'a Location,
    quantity: Quantity,
    at_ms: i64,
}

impl Optimistic for Transfer<'_> {
    type Snapshot = (HashMap<String, String>,);
    type Output = Stock;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, attempt: u32) -> Result<Plan<Stock>, Error> {
        let level = level_of(self.sku, &fields)?.ok_or_else(|| Error::unknown_sku(self.sku.as_str()))?;
        let mut change = Change::new(self.store.keys().stock(self.sku), Some(level));
        let available = change.existing(self.sku, self.from)?.counts.available;
        change.existing(self.sku, self.to)?;
        let q = self.quantity.get();
        if available < q {
            return Err(Error::InsufficientStock {
                items: vec![Shortage {
                    sku: self.sku.clone(),
                    available: available.max(0),
                    requested: q,
                }],
                attempts: attempt,
            });
        }
        change.receive(self.from, -q, false);
        change.receive(self.to, q, false);
        let extra = [("location", self.from.as_str()), ("to", self.to.as_str())];
        change.writes.push(movement_with(
            self.store, self.sku, "transfer", q, "admin", self.at_ms, &extra,
        ));
        change
            .writes
            .extend(super::admin_entry(self.store, self.sku, "transfer", q, self.at_ms));
        Ok(Plan {
            output: change.level.to_stock(self.sku),
            writes: change.writes,
        })
    }
}
