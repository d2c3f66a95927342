//! `verify`'s rules per location: what each location's counters say against where the
//! units of orders and active reservations were drawn from.
//!
//! `default` holds what the named locations do not (`crate::level`), so "the totals
//! equal the sum over locations" is the same thing as `default`'s derived counters obeying
//! every rule below; a total that drifted from its locations shows up there.

use super::Violation;
use crate::OrderLine;
use crate::level::Level;
use std::collections::{HashMap, HashSet};

/// Units per (SKU, location), gathered while `verify` reads the records.
#[derive(Default)]
pub(super) struct ByLocation {
    sold: HashMap<(String, String), i64>,
    reserved: HashMap<(String, String), i64>,
    /// SKUs with orders aged out of Redis: the ledger keeps their totals, not where each
    /// unit came from, so their `sold` per location cannot be checked.
    aged: HashSet<String>,
}

impl ByLocation {
    /// Counts what an order line still sells, per location.
    pub(super) fn sold(&mut self, sku: &crate::domain::Sku, still: &[crate::level::Allocation]) {
        for a in still {
            *self.sold.entry((sku.to_string(), a.location.to_string())).or_default() += a.quantity;
        }
    }

    /// Counts a line of an active reservation.
    pub(super) fn reserved(&mut self, line: &OrderLine) {
        for a in line.drawn() {
            *self
                .reserved
                .entry((line.sku.to_string(), a.location.to_string()))
                .or_default() += a.quantity;
        }
    }

    /// Takes out the units of retired SKUs' orders: they were drawn from the retired SKU's
    /// locations, not from the live SKU of the same name.
    pub(super) fn retired(&mut self, retired: &crate::RetiredUnits) {
        for (key, units) in &retired.sold_at {
            *self.sold.entry(key.clone()).or_default() -= units;
        }
    }

    /// Notes a SKU with aged-out orders.
    pub(super) fn aged(&mut self, sku: &str) {
        self.aged.insert(sku.to_owned());
    }

    /// The rules for every location of `sku` that has a named one (without, `default` is
    /// the totals, which the SKU-wide rules check already).
    pub(super) fn check(&self, sku: &str, level: &Level, violations: &mut Vec<Violation>) {
        if !level.has_named() {
            return;
        }
        let mut broken = |rule: &'static str, message: String| {
            violations.push(Violation {
                rule,
                sku: Some(sku.to_owned()),
                message,
            })
        };
        for place in &level.places {
            let (name, c) = (place.name.as_str(), &place.counts);
            let key = (sku.to_owned(), name.to_owned());
            for (counter, value) in [
                ("available", c.available),
                ("reserved", c.reserved),
                ("sold", c.sold),
                ("damaged", c.damaged),
            ] {
                if value < 0 {
                    broken("location_negative", format!("{counter} at {name} is {value}"));
                }
            }
            let held = self.reserved.get(&key).copied().unwrap_or(0);
            if c.reserved != held {
                broken(
                    "location_reserved_mismatch",
                    format!(
                        "reserved at {name} is {} but active reservations hold {held} there",
                        c.reserved
                    ),
                );
            }
            let in_orders = self.sold.get(&key).copied().unwrap_or(0);
            if c.sold != in_orders && !self.aged.contains(sku) {
                broken(
                    "location_sold_mismatch",
                    format!("sold at {name} is {} but orders drew {in_orders} from there", c.sold),
                );
            }
            let total = c.held();
            if total != c.accounted() {
                broken(
                    "location_conservation",
                    format!(
                        "at {name}, available + reserved + sold + damaged = {total} but {} units were received and {} preordered",
                        c.received, c.preordered
                    ),
                );
            }
        }
        // Units drawn from a location the SKU no longer lists.
        for ((s, location), units) in self.sold.iter().chain(&self.reserved) {
            if s == sku && level.place(location).is_none() && *units != 0 {
                broken(
                    "location_sold_mismatch",
                    format!("{units} units were drawn from {location}, which {sku} does not have"),
                );
            }
        }
    }
}
