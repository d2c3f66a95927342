use super::Stock;
use super::stockroom::{self, Change, Step};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{Available, Location, Priority, Sku};
use crate::error::Error;

/// `PUT /v1/skus/{sku}/stock`: sets `available` of the implicit location `default`,
/// creating the SKU if needed. For a SKU without named locations that is its `available`,
/// exactly as v1 always did; `reserved` and `sold` are left alone.
pub async fn set_stock(store: &Inventory, sku: &Sku, available: Available) -> Result<Stock, Error> {
    set_location_stock(store, sku, &Location::default_location(), available, None, None).await
}

/// `PUT /v1/skus/{sku}/locations/{location}/stock`: sets `available` at one location,
/// creating the SKU and the location if needed, and its priority when given (a new
/// location without one is drawn from last). `received` moves by the difference, at the
/// location and in total, so conservation can be verified per location. `safety`, when
/// given, is the location's new safety stock (v1.5): units of `available` never sold.
pub async fn set_location_stock(
    store: &Inventory,
    sku: &Sku,
    location: &Location,
    available: Available,
    priority: Option<Priority>,
    safety: Option<Available>,
) -> Result<Stock, Error> {
    let step = SetStock {
        location,
        available,
        priority,
        safety,
    };
    stockroom::run(store, EntryKind::Set, sku, step).await
}

struct SetStock<'a> {
    location: &'a Location,
    available: Available,
    priority: Option<Priority>,
    safety: Option<Available>,
}

impl Step for SetStock<'_> {
    const CREATES: bool = true;

    fn apply(&self, change: &mut Change, _attempt: u32) -> Result<(), Error> {
        set_level(change, self.location, self.available, self.priority, true)?;
        match self.safety {
            Some(units) => change.set_safety(self.location, units.get()),
            None => Ok(()),
        }
    }
}

/// Sets `available` at `location` (making the location, with `priority` when given) and
/// records a `set` movement of the difference. `always`: record one even when nothing moved
/// (a `PUT` is a movement; an import row equal to what is stored is not, unless it creates
/// the SKU).
pub(crate) fn set_level(
    change: &mut Change,
    location: &Location,
    available: Available,
    priority: Option<Priority>,
    always: bool,
) -> Result<(), Error> {
    change.place(location, priority.map(Priority::get))?;
    let delta = available.get() - change.existing(location)?.counts.available;
    change.receive(location, delta, true);
    if always || delta != 0 || change.creating() {
        let at = [("location", location.as_str())];
        change.record(
            EntryKind::Set,
            delta,
            delta,
            if location.is_default() { &[] } else { &at },
        );
    }
    Ok(())
}
