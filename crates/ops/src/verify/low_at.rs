//! `verify`'s check of the low-stock index at each location against the levels: while the
//! SKUs are read it keeps only what is low (and the names of the locations seen), then reads
//! each location's index once.

use super::Violation;
use crate::Inventory;
use crate::domain::Location;
use crate::error::StoreError;
use crate::level::Level;
use std::collections::HashMap;

/// Per location seen, the SKUs below their threshold there and what they can sell.
#[derive(Default)]
pub(super) struct LowAt {
    expected: HashMap<Location, HashMap<String, i64>>,
}

impl LowAt {
    /// Notes what `sku`'s level says each of its locations' index should hold.
    pub(super) fn check(&mut self, sku: &str, level: &Level) {
        for place in &level.places {
            // Every location seen gets its index read, low here or not.
            let at = match self.expected.get_mut(&place.name) {
                Some(at) => at,
                None => self.expected.entry(place.name.clone()).or_default(),
            };
            if let Some(score) = level.low_stock_score(Some(place)) {
                at.insert(sku.to_owned(), score);
            }
        }
    }

    /// Reads each location's index and names every entry that differs from the levels.
    pub(super) async fn compare(self, store: &Inventory, violations: &mut Vec<Violation>) -> Result<(), StoreError> {
        for (location, mut want) in self.expected {
            let mut broken = |sku: String, message: String| {
                violations.push(Violation {
                    rule: "low_stock_index_mismatch",
                    sku: Some(sku),
                    message,
                })
            };
            for (sku, held) in crate::alerts::low_stock_index(store, Some(&location), None).await? {
                match want.remove(&sku) {
                    Some(score) if score == held => {}
                    Some(score) => broken(
                        sku,
                        format!("available at {location} is {score}, but the low-stock index there holds {held}"),
                    ),
                    None => broken(
                        sku,
                        format!(
                            "the low-stock index at {location} holds {held}, but the SKU is not below its threshold there"
                        ),
                    ),
                }
            }
            for (sku, score) in want {
                broken(
                    sku,
                    format!(
                        "available at {location} is {score}, below the threshold, but the low-stock index there does not hold it"
                    ),
                );
            }
        }
        Ok(())
    }
}
