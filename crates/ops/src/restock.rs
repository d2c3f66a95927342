use super::Stock;
use super::stockroom::{self, Change, Step};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{Location, Quantity, Sku};
use crate::error::Error;

/// Adds units to `available` of an existing SKU (a delivery arrived), at `location`
/// (`default` when none is named; a named one must exist).
pub async fn restock(
    store: &Inventory,
    sku: &Sku,
    quantity: Quantity,
    location: Option<&Location>,
) -> Result<Stock, Error> {
    let default = Location::default_location();
    let step = Restock {
        quantity,
        location: location.unwrap_or(&default),
    };
    stockroom::run(store, EntryKind::Restock, sku, step).await
}

struct Restock<'a> {
    quantity: Quantity,
    location: &'a Location,
}

impl Step for Restock<'_> {
    fn apply(&self, change: &mut Change, _attempt: u32) -> Result<(), Error> {
        change.existing(self.location)?;
        let q = self.quantity.get();
        change.receive(self.location, q, true);
        let at = [("location", self.location.as_str())];
        change.record(
            EntryKind::Restock,
            q,
            q,
            if self.location.is_default() { &[] } else { &at },
        );
        Ok(())
    }
}
