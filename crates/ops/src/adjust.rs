use super::Stock;
use super::stockroom::{self, Change, Step};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{Adjusted, Correction, Location, Reason, Sku};
use crate::error::Error;

/// `POST /v1/skus/{sku}/locations/{location}/adjustments`: corrects a counter at one
/// location in one transaction and records its movement with the reason.
///
/// - `available` (the default): the difference counts as stock received (or, negative,
///   written off), an `adjust` movement, so `verify` stays exact.
/// - `damaged` (v1.5): more damaged units are taken from `available` (`damage`); fewer were
///   written off (`write_off`, off `received`) or, with reason `inspected`, passed
///   inspection and are on sale again (`restore`).
///
/// A difference that would leave less than nothing is refused with `insufficient_stock`
/// (`available` then names what the units would leave). A count that matches the books
/// still records its movement (of 0): that the count was made is worth keeping.
pub async fn adjust(
    store: &Inventory,
    sku: &Sku,
    location: &Location,
    correction: Correction,
    reason: Reason,
    of: Adjusted,
) -> Result<Stock, Error> {
    let step = Adjust {
        location,
        correction,
        reason,
        of,
    };
    stockroom::run(store, EntryKind::Adjust, sku, step).await
}

struct Adjust<'a> {
    location: &'a Location,
    correction: Correction,
    reason: Reason,
    of: Adjusted,
}

impl Step for Adjust<'_> {
    fn apply(&self, change: &mut Change, attempt: u32) -> Result<(), Error> {
        let counts = change.existing(self.location)?.counts;
        let now = match self.of {
            Adjusted::Available => counts.available,
            Adjusted::Damaged => counts.damaged,
        };
        let delta = match self.correction {
            Correction::Counted(n) => n - now,
            Correction::Delta(d) => d,
        };
        // What the units leave: `available` for more damaged ones, else the counter itself.
        let source = match self.of {
            Adjusted::Damaged if delta > 0 => counts.available,
            _ => now,
        };
        if delta.abs() > source && (delta < 0 || self.of == Adjusted::Damaged) {
            return Err(Error::ShortAt {
                done: "adjusted",
                sku: change.sku.clone(),
                location: self.location.clone(),
                available: source.max(0),
                requested: delta.abs(),
                attempts: attempt,
            });
        }
        let extra = [("location", self.location.as_str()), ("reason", self.reason.as_str())];
        match self.of {
            Adjusted::Available => {
                change.receive(self.location, delta, true);
                change.record(EntryKind::Adjust, delta, delta, &extra);
            }
            Adjusted::Damaged if delta >= 0 => {
                change.shift(self.location, "available", Some("damaged"), delta);
                change.record(EntryKind::Damage, delta, -delta, &extra);
            }
            Adjusted::Damaged if self.reason == Reason::Inspected => {
                change.shift(self.location, "damaged", Some("available"), -delta);
                change.record(EntryKind::Restore, -delta, -delta, &extra);
            }
            Adjusted::Damaged => {
                change.shift(self.location, "damaged", None, -delta);
                change.record(EntryKind::WriteOff, -delta, 0, &extra);
            }
        }
        Ok(())
    }
}
