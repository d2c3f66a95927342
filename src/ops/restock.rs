use super::stockroom::Change;
use super::{Stock, admin_entry, level_of, movement_with, now_ms, read_stock};
use crate::domain::{Location, Quantity, Sku};
use crate::error::Error;
use crate::store::Store;
use crate::txn::{Optimistic, Plan};
use std::collections::HashMap;

/// Adds units to `available` of an existing SKU (a delivery arrived), at `location`
/// (`default` when none is named; a named one must exist).
pub async fn restock(
    store: &Store,
    sku: &Sku,
    quantity: Quantity,
    location: Option<&Location>,
) -> Result<Stock, Error> {
    let default = Location::default_location();
    let op = Restock {
        store,
        sku,
        quantity,
        location: location.unwrap_or(&default),
        at_ms: now_ms(),
    };
    super::run_admin(store, "restock", sku, &op).await
}

struct Restock<'a> {
    store: &'a Store,
    sku: &'a Sku,
    quantity: Quantity,
    location: &'a Location,
    at_ms: i64,
}

impl Optimistic for Restock<'_> {
    type Snapshot = (HashMap<String, String>,);
    type Output = Stock;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, _attempt: u32) -> Result<Plan<Stock>, Error> {
        let level = level_of(self.sku, &fields)?.ok_or_else(|| Error::unknown_sku(self.sku.as_str()))?;
        let mut change = Change::new(self.store.keys().stock(self.sku), Some(level));
        change.existing(self.sku, self.location)?;
        let q = self.quantity.get();
        change.receive(self.location, q, true);
        change.check_alerts(self.store, self.sku, q, self.at_ms);
        let at = [("location", self.location.as_str())];
        let extra: &[(&str, &str)] = if self.location.is_default() { &[] } else { &at };
        change.writes.push(movement_with(
            self.store, self.sku, "restock", q, "admin", self.at_ms, extra,
        ));
        change
            .writes
            .extend(admin_entry(self.store, self.sku, "restock", q, self.at_ms));
        Ok(Plan {
            output: change.level.to_stock(self.sku),
            writes: change.writes,
        })
    }
}
