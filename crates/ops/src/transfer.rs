use super::Stock;
use super::stockroom::{self, Change, Step};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{Location, Quantity, Sku};
use crate::error::Error;

/// `POST /v1/skus/{sku}/transfers`: moves available units between two locations of one SKU
/// in one transaction, or refuses with `insufficient_stock` and changes nothing. The totals
/// do not move; `received` moves with the units, so each location stays conserved.
pub async fn transfer(
    store: &Inventory,
    sku: &Sku,
    from: &Location,
    to: &Location,
    quantity: Quantity,
) -> Result<Stock, Error> {
    stockroom::run(store, EntryKind::Transfer, sku, Transfer { from, to, quantity }).await
}

struct Transfer<'a> {
    from: &'a Location,
    to: &'a Location,
    quantity: Quantity,
}

impl Step for Transfer<'_> {
    fn apply(&self, change: &mut Change, attempt: u32) -> Result<(), Error> {
        let available = change.existing(self.from)?.counts.available;
        change.existing(self.to)?;
        let q = self.quantity.get();
        if available < q {
            return Err(Error::ShortAt {
                done: "transferred",
                sku: change.sku.clone(),
                location: self.from.clone(),
                available: available.max(0),
                requested: q,
                attempts: attempt,
            });
        }
        change.receive(self.from, -q, false);
        change.receive(self.to, q, false);
        change.record(
            EntryKind::Transfer,
            q,
            0,
            &[("location", self.from.as_str()), ("to", self.to.as_str())],
        );
        Ok(())
    }
}
