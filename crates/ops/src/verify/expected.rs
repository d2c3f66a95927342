//! `verify`'s rules per SKU, checked as each SKU's stock is read: what its counters say
//! against what the orders, holds, retirements and the low-stock index (read first) expect.
//! Each SKU checked takes its entries out, so what is left at the end names SKUs that have
//! no stock record.

use super::Violation;
use super::locations::ByLocation;
use crate::RetiredUnits;
use crate::level::Level;
use std::collections::{HashMap, HashSet};

/// What the records read before the SKUs expect of them.
pub(super) struct Expected {
    /// Per SKU, units in orders (those aged out of Redis included).
    pub(super) sold: HashMap<String, i64>,
    /// Per SKU, units held by active reservations.
    pub(super) reserved: HashMap<String, i64>,
    /// Units in the orders of retired SKUs.
    pub(super) retired: RetiredUnits,
    /// The low-stock index, `None` while this store's thresholds predate it.
    pub(super) low: Option<HashMap<String, i64>>,
    /// The low-stock index per location, `None` while this store's thresholds predate it.
    pub(super) low_at: Option<super::low_at::LowAt>,
    /// The counters per location.
    pub(super) by_location: ByLocation,
    /// Retired SKUs made again, seen among the live ones.
    pub(super) reborn: HashSet<String>,
    /// The preorders live records hold, for their purchase orders' queues.
    pub(super) queued: super::preorders::Queued,
}

impl Expected {
    /// Every rule for one live SKU; `by_moves`: Σ of its stock-received movements when its
    /// history is whole.
    pub(super) fn check(
        &mut self,
        sku: &str,
        level: &Level,
        by_moves: Option<[i64; 2]>,
        violations: &mut Vec<Violation>,
    ) {
        let c = &level.totals;
        let held = self.reserved.remove(sku).unwrap_or(0);
        let retired = self.retired.sold.get(sku).copied();
        if retired.is_some() {
            self.reborn.insert(sku.to_owned());
        }
        // A retired SKU of the same name holds the units of its own orders.
        let in_orders = self.sold.remove(sku).unwrap_or(0) - retired.unwrap_or(0);
        let in_index = self.low.as_mut().map(|low| low.remove(sku));
        self.by_location.check(sku, level, violations);
        if let Some(low_at) = &mut self.low_at {
            low_at.check(sku, level);
        }
        self.queued.check(sku, level, violations);
        let mut broken = |rule: &'static str, message: String| {
            violations.push(Violation {
                rule,
                sku: Some(sku.to_owned()),
                message,
            })
        };
        if let Some(in_index) = in_index
            && in_index != level.low_stock_score(None)
        {
            broken(
                "low_stock_index_mismatch",
                format!(
                    "available is {} and the threshold {}, but the low-stock index holds {}",
                    c.available,
                    shown(level.rules.low_stock_threshold),
                    shown(in_index)
                ),
            );
        }
        if c.available < 0 {
            broken(
                "available_negative",
                format!("available is {}: oversold by {} units", c.available, -c.available),
            );
        }
        if c.reserved < 0 {
            broken("reserved_negative", format!("reserved is {}", c.reserved));
        }
        if c.sold < 0 {
            broken("sold_negative", format!("sold is {}", c.sold));
        }
        if c.damaged < 0 {
            broken("damaged_negative", format!("damaged is {}", c.damaged));
        }
        if c.reserved != held {
            broken(
                "reserved_mismatch",
                format!("reserved is {} but active reservations hold {held}", c.reserved),
            );
        }
        if c.sold != in_orders {
            broken(
                "sold_mismatch",
                format!("sold is {} but orders contain {in_orders}", c.sold),
            );
        }
        let total = c.held();
        if total != c.accounted() {
            broken(
                "conservation",
                format!(
                    "available + reserved + sold + damaged = {total} but {} units were received and {} preordered",
                    c.received, c.preordered
                ),
            );
        }
        if let Some([received, _]) = by_moves
            && received != c.received
        {
            broken(
                "movements_mismatch",
                format!(
                    "set/restock/adjust/write-off movements add up to {received} but the received counter is {}",
                    c.received
                ),
            );
        }
        if let Some([_, damaged]) = by_moves
            && damaged != c.damaged
        {
            broken(
                "damaged_mismatch",
                format!(
                    "damage/restore/write-off movements add up to {damaged} but damaged is {}",
                    c.damaged
                ),
            );
        }
    }

    /// The rules about SKUs that were not among the live ones: retired SKUs not made again,
    /// index entries and order or hold lines naming no SKU.
    pub(super) fn leftovers(mut self, violations: &mut Vec<Violation>) {
        // A SKU retired and not made again: its orders hold what it sold when retired.
        for (sku, &units) in self.retired.sold.iter().filter(|(s, _)| !self.reborn.contains(*s)) {
            let in_orders = self.sold.remove(sku).unwrap_or(0);
            if in_orders != units {
                violations.push(Violation {
                    rule: "sold_mismatch",
                    sku: Some(sku.clone()),
                    message: format!("{sku} was retired having sold {units} but orders contain {in_orders}"),
                });
            }
        }
        for (sku, available) in self.low.into_iter().flatten() {
            violations.push(Violation {
                rule: "low_stock_index_mismatch",
                sku: Some(sku),
                message: format!("the low-stock index holds {available} for a SKU that does not exist"),
            });
        }
        // Held units name only live SKUs (none is retired while held).
        let mut unknown: Vec<String> = self.sold.into_keys().chain(self.reserved.into_keys()).collect();
        unknown.sort();
        unknown.dedup();
        for sku in unknown {
            violations.push(Violation {
                rule: "unknown_sku_reference",
                sku: Some(sku),
                message: "orders or active reservations name a SKU that has no stock record".into(),
            });
        }
    }
}

/// A number, or "none".
fn shown(n: Option<i64>) -> String {
    n.map_or_else(|| "none".to_owned(), |n| n.to_string())
}
