use super::stockroom::Change;
use super::{Stock, admin_entry, level_of, movement_with, now_ms, read_stock};
use crate::domain::{Available, Location, Priority, Sku};
use crate::error::Error;
use crate::store::Store;
use crate::txn::{Optimistic, Plan};
use std::collections::HashMap;

/// `PUT /v1/skus/{sku}/stock`: sets `available` of the implicit location `default`,
/// creating the SKU if needed. For a SKU without named locations that is its `available`,
/// exactly as v1 always did; `reserved` and `sold` are left alone.
pub async fn set_stock(store: &Store, sku: &Sku, available: Available) -> Result<Stock, Error> {
    set_location_stock(store, sku, &Location::default_location(), available, None).await
}

/// `PUT /v1/skus/{sku}/locations/{location}/stock`: sets `available` at one location,
/// creating the SKU and the location if needed, and its priority when given (a new
/// location without one is drawn from last). `received` moves by the difference, at the
/// location and in total, so conservation can be verified per location.
pub async fn set_location_stock(
    store: &Store,
    sku: &Sku,
    location: &Location,
    available: Available,
    priority: Option<Priority>,
) -> Result<Stock, Error> {
    let op = SetStock {
        store,
        sku,
        location,
        available,
        priority,
        at_ms: now_ms(),
    };
    super::run_admin(store, "set", sku, &op).await
}

struct SetStock<'a> {
    store: &'a Store,
    sku: &'a Sku,
    location: &'a Location,
    available: Available,
    priority: Option<Priority>,
    at_ms: i64,
}

impl Optimistic for SetStock<'_> {
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
        let level = level_of(self.sku, &fields)?;
        let mut change = Change::new(self.store.keys().stock(self.sku), level);
        change.place(self.location, self.priority.map(Priority::get))?;
        let before = change.existing(self.sku, self.location)?.counts.available;
        let delta = self.available.get() - before;
        change.receive(self.location, delta, true);
        change.check_alerts(self.store, self.sku, delta, self.at_ms);
        let at = [("location", self.location.as_str())];
        let extra: &[(&str, &str)] = if self.location.is_default() { &[] } else { &at };
        change.writes.push(movement_with(
            self.store, self.sku, "set", delta, "admin", self.at_ms, extra,
        ));
        change
            .writes
            .extend(admin_entry(self.store, self.sku, "set", delta, self.at_ms));
        Ok(Plan {
            output: change.level.to_stock(self.sku),
            writes: change.writes,
        })
    }
}
