use super::Stock;
use super::stockroom::{self, Change, Step};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{Correction, Location, Reason, Sku};
use crate::error::Error;

/// `POST /v1/skus/{sku}/locations/{location}/adjustments`: corrects `available` at one
/// location in one transaction and records an `adjust` movement with the reason and the
/// difference. The difference counts as stock received (or, negative, written off), so
/// `verify` stays exact. A difference that would leave less than nothing is refused with
/// `insufficient_stock`. A count that matches the books still records its movement (of 0):
/// that the count was made is worth keeping.
pub async fn adjust(
    store: &Inventory,
    sku: &Sku,
    location: &Location,
    correction: Correction,
    reason: Reason,
) -> Result<Stock, Error> {
    let step = Adjust {
        location,
        correction,
        reason,
    };
    stockroom::run(store, EntryKind::Adjust, sku, step).await
}

struct Adjust<'a> {
    location: &'a Location,
    correction: Correction,
    reason: Reason,
}

impl Step for Adjust<'_> {
    fn apply(&self, change: &mut Change, attempt: u32) -> Result<(), Error> {
        let available = change.existing(self.location)?.counts.available;
        let delta = match self.correction {
            Correction::Counted(n) => n - available,
            Correction::Delta(d) => d,
        };
        if available + delta < 0 {
            return Err(Error::ShortAt {
                done: "adjusted",
                sku: change.sku.clone(),
                location: self.location.clone(),
                available: available.max(0),
                requested: -delta,
                attempts: attempt,
            });
        }
        change.receive(self.location, delta, true);
        let extra = [("location", self.location.as_str()), ("reason", self.reason.as_str())];
        change.record(EntryKind::Adjust, delta, delta, &extra);
        Ok(())
    }
}
