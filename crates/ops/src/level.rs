//! A SKU's stock hash as read, with its locations, and how a line is drawn from them.
//!
//! Inside the stock hash (`crate::keys::Keys::stock`), beside the v1 totals `available`,
//! `reserved`, `sold` and `received`:
//! - `locs`: the SKU's locations in draw order (priority, then name), comma-separated;
//!   written when it gets its first named location, and always listing `default`;
//! - `priority@L` for each listed location;
//! - `available@L`, `reserved@L`, `sold@L`, `received@L` for each *named* location.
//!
//! The implicit location `default` is never stored: it holds whatever the named locations
//! do not, its counters being the totals less theirs. So a SKU that never had a location is
//! exactly a v1 SKU, the v1 endpoints keep their meaning (they act on `default`), and a
//! take drawn from `default` writes only the totals, as it always did. Everything lives in
//! the one hash, under the SKU's hash tag: one key to WATCH, one slot on a cluster.

use super::Stock;
pub use super::allocation::Allocation;
pub use super::purchase_order::Preorders;
use super::purchase_order::PurchaseOrder;
use crate::domain::{Location, Sku};
use crate::error::StoreError;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// Most locations one SKU may have: bounds the fields a script reads per line.
pub const MAX_LOCATIONS: usize = 64;

/// The counters of a SKU, or of one of its locations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Units that can be taken now.
    pub available: i64,
    /// Units held by active reservations.
    pub reserved: i64,
    /// Units in orders.
    pub sold: i64,
    /// Units received net of write-offs (see [`Self::accounted`]).
    pub received: i64,
    /// Units that came back damaged (or were found so), never sold until restored (v1.5).
    pub damaged: i64,
    /// Units of purchase orders on their way, no part of `received` (v1.5).
    pub incoming: i64,
    /// Units of `available` kept back, never sold: safety stock (v1.5).
    pub safety: i64,
    /// Units sold or held against `incoming`, waiting for their purchase orders (v1.5):
    /// part of `reserved` and `sold`, no part of `received`. Never stored: the sum of the
    /// purchase orders' queues.
    pub preordered: i64,
}

impl Counts {
    /// `available + reserved + sold + damaged`: [`Self::accounted`] when conserved.
    pub fn held(&self) -> i64 {
        self.available + self.reserved + self.sold + self.damaged
    }

    /// What [`Self::held`] must be: units received, and those preordered on their way.
    pub fn accounted(&self) -> i64 {
        self.received + self.preordered
    }

    /// Each counter plus `sign` times `other`'s: the sum or the difference of two.
    fn combined(&self, other: &Self, sign: i64) -> Self {
        Self {
            available: self.available + sign * other.available,
            reserved: self.reserved + sign * other.reserved,
            sold: self.sold + sign * other.sold,
            received: self.received + sign * other.received,
            damaged: self.damaged + sign * other.damaged,
            incoming: self.incoming + sign * other.incoming,
            safety: self.safety + sign * other.safety,
            preordered: self.preordered + sign * other.preordered,
        }
    }

    /// What takes see: `available` less the safety stock.
    pub fn sellable(&self) -> i64 {
        self.available - self.safety
    }

    /// The counter called `name` (`available`, `reserved`, `sold`, `received`, `damaged`).
    pub(crate) fn get_mut(&mut self, name: &str) -> &mut i64 {
        match name {
            "available" => &mut self.available,
            "reserved" => &mut self.reserved,
            "sold" => &mut self.sold,
            "damaged" => &mut self.damaged,
            "incoming" => &mut self.incoming,
            "safety" => &mut self.safety,
            "preordered" => &mut self.preordered,
            _ => &mut self.received,
        }
    }
}

/// One location of a SKU as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Its name.
    pub name: Location,
    /// Lower is drawn from first.
    pub priority: i64,
    /// Its counters (for `default`: the totals less every named location's).
    pub counts: Counts,
}

/// What drawing one line from a SKU's locations came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Draw {
    /// Enough: these units from these locations, in draw order.
    Drawn(Vec<Allocation>),
    /// The line was pinned to a location the SKU does not have.
    UnknownLocation,
    /// Not enough; what could have been drawn.
    Short(i64),
}

/// A SKU's alert rules (`PUT /v1/skus/{sku}/alerts`), kept in its stock hash so the
/// script that decides alerts reads them with the level (`crates/ops/src/lua/alerts.lua`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Rules {
    /// `low_stock` below it, `out_of_stock` at 0, `back_in_stock` back at or above it.
    pub low_stock_threshold: Option<i64>,
    /// `reorder` below it.
    pub reorder_point: Option<i64>,
    /// The quantity a `reorder` suggests.
    pub reorder_quantity: Option<i64>,
}

impl Rules {
    /// Whether any alert can be raised: without rules, a change queues no alert check.
    pub fn any(&self) -> bool {
        self.low_stock_threshold.is_some() || self.reorder_point.is_some()
    }
}

/// A SKU's stock hash, decoded: its totals and its locations in draw order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The v1 counters.
    pub totals: Counts,
    /// Every location in draw order; just `default` for a SKU that never had a named one.
    pub places: Vec<Place>,
    /// Its alert rules.
    pub rules: Rules,
    /// Movements pushed to its history list so far (`moved`): the list holds at most this
    /// many, so a MULTI that keeps it under the cap need not trim it.
    pub moved: i64,
    /// Its sale settings, when it has any (`crate::sale`).
    pub sale: Option<crate::sale::Sale>,
    /// Its preorder settings, when preorders are on.
    pub preorders: Option<Preorders>,
    /// Its purchase orders, soonest expected first: read only for a SKU with units
    /// incoming (a SKU without pays nothing for them).
    pub orders: Vec<PurchaseOrder>,
}

impl Level {
    /// Decodes a stock hash (HGETALL); `None` when the SKU does not exist. Any hasher: a
    /// take's read uses a fast one, as it looks up a dozen fields per SKU it decides on.
    pub fn parse<S: BuildHasher>(sku: &Sku, fields: &HashMap<String, String, S>) -> Result<Option<Self>, StoreError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let corrupt = |what: &str| StoreError::Protocol(format!("stock of {sku}: bad {what}").into());
        let num = |name: &str| -> Result<i64, StoreError> {
            fields.get(name).map_or(Ok(0), |v| v.parse().map_err(|_| corrupt(name)))
        };
        if !fields.contains_key("available") {
            return Err(corrupt("available (missing)"));
        }
        // The totals' names are the counters' own: no name is built for them (a take parses
        // a level per SKU it decides on).
        let counter = |name: &'static str, suffix: &str| match suffix {
            "" => num(name),
            _ => num(&format!("{name}{suffix}")),
        };
        let counts = |suffix: &str| -> Result<Counts, StoreError> {
            Ok(Counts {
                available: counter("available", suffix)?,
                reserved: counter("reserved", suffix)?,
                sold: counter("sold", suffix)?,
                received: counter("received", suffix)?,
                damaged: counter("damaged", suffix)?,
                incoming: counter("incoming", suffix)?,
                safety: counter("safety", suffix)?,
                preordered: 0,
            })
        };
        let mut totals = counts("")?;
        let rule = |name: &str| -> Result<Option<i64>, StoreError> {
            fields.contains_key(name).then(|| num(name)).transpose()
        };
        let rules = Rules {
            low_stock_threshold: rule("low_threshold")?,
            reorder_point: rule("reorder_point")?,
            reorder_quantity: rule("reorder_quantity")?,
        };
        let moved = num("moved")?;
        let sale = fields
            .get(crate::sale::FIELD)
            .map(|s| crate::sale::Sale::decode(s))
            .transpose()?;
        let preorders = fields
            .get(Preorders::FIELD)
            .map(|p| Preorders::decode(p).ok_or_else(|| corrupt(Preorders::FIELD)))
            .transpose()?;
        let orders = match totals.incoming {
            0 => Vec::new(),
            _ => PurchaseOrder::all_of(sku, fields)?,
        };
        totals.preordered = orders.iter().map(|o| o.preordered).sum();
        let Some(list) = fields.get("locs") else {
            return Ok(Some(Self {
                totals,
                rules,
                moved,
                sale,
                preorders,
                orders,
                places: vec![Place {
                    name: Location::default_location(),
                    priority: 0,
                    counts: totals,
                }],
            }));
        };
        let mut places = Vec::new();
        let mut named = Counts::default();
        for name in list.split(',') {
            let name = Location::parse(name, "locs").map_err(|_| corrupt("locs"))?;
            let priority = num(&format!("priority@{name}"))?;
            let mut counts = if name.is_default() {
                Counts::default()
            } else {
                counts(&format!("@{name}"))?
            };
            counts.preordered = orders.iter().filter(|o| o.location == name).map(|o| o.preordered).sum();
            named = named.combined(&counts, 1);
            places.push(Place { name, priority, counts });
        }
        if let Some(default) = places.iter_mut().find(|p| p.name.is_default()) {
            default.counts = totals.combined(&named, -1);
        }
        Ok(Some(Self {
            totals,
            places,
            rules,
            moved,
            sale,
            preorders,
            orders,
        }))
    }

    /// Whether the SKU has a named location (and so a `locs` list).
    pub fn has_named(&self) -> bool {
        self.places.iter().any(|p| !p.name.is_default())
    }

    /// The location called `name`.
    pub fn place(&self, name: &str) -> Option<&Place> {
        self.places.iter().find(|p| p.name.as_str() == name)
    }

    /// Draws `quantity` units: from `pin` alone when given, else from each location in
    /// draw order, splitting the line when one runs short. The script does the same
    /// (`crates/ops/src/lua/take.lua`); a unit test pins this one, the API tests both.
    pub fn draw(&self, quantity: i64, pin: Option<&Location>) -> Draw {
        if let Some(pin) = pin {
            return match self.place(pin.as_str()) {
                None => Draw::UnknownLocation,
                Some(p) if p.counts.sellable() >= quantity => {
                    Draw::Drawn(vec![Allocation::at(p.name.clone(), quantity)])
                }
                Some(p) => Draw::Short(p.counts.sellable().max(0)),
            };
        }
        let mut left = quantity;
        let mut drawn = Vec::new();
        for place in &self.places {
            let take = place.counts.sellable().min(left);
            if take > 0 {
                drawn.push(Allocation::at(place.name.clone(), take));
                left -= take;
            }
            if left == 0 {
                return Draw::Drawn(drawn);
            }
        }
        Draw::Short(quantity - left)
    }

    /// A line the shelf cannot cover, as a preorder (`PurchaseOrder::draw`).
    pub fn draw_preorder(&self, quantity: i64, pin: Option<&Location>) -> Option<Allocation> {
        PurchaseOrder::draw(&self.orders, self.preorders?, self.totals.preordered, quantity, pin)
    }

    /// Applies a draw to this level as read, so the next take of a batch decides on what
    /// the earlier ones left.
    pub fn withdraw(&mut self, drawn: &[Allocation]) {
        for a in drawn {
            let counter = match &a.purchase_order {
                None => "available",
                Some(reference) => {
                    if let Some(order) = self.orders.iter_mut().find(|o| &o.reference == reference) {
                        order.enqueue(a.quantity);
                    }
                    "preordered"
                }
            };
            let by = if a.purchase_order.is_some() {
                a.quantity
            } else {
                -a.quantity
            };
            *self.totals.get_mut(counter) += by;
            if let Some(p) = self.places.iter_mut().find(|p| p.name == a.location) {
                *p.counts.get_mut(counter) += by;
            }
        }
    }

    /// The stock object of the contract.
    pub fn to_stock(&self, sku: &Sku) -> Stock {
        // A `default` emptied of everything is not shown once named locations exist: a shop
        // that only names its warehouses should not see a phantom one.
        let shown = |p: &&Place| !(p.name.is_default() && self.has_named() && p.counts == Counts::default());
        Stock {
            sku: sku.clone(),
            available: self.totals.available,
            reserved: self.totals.reserved,
            sold: self.totals.sold,
            damaged: self.totals.damaged,
            incoming: self.totals.incoming,
            safety_stock: self.totals.safety,
            preordered: self.totals.preordered,
            locations: self
                .places
                .iter()
                .filter(shown)
                .map(|p| super::LocationStock {
                    location: p.name.clone(),
                    available: p.counts.available,
                    reserved: p.counts.reserved,
                    sold: p.counts.sold,
                    damaged: p.counts.damaged,
                    incoming: p.counts.incoming,
                    safety_stock: p.counts.safety,
                    preordered: p.counts.preordered,
                    priority: p.priority,
                })
                .collect(),
            sale: self.sale,
            preorders: self.preorders,
        }
    }
}

/// The field of `counter` (`available`, `reserved`, `sold`, `received`) at `location`;
/// `None` for `default`, whose counters are derived, never stored.
pub fn field_at(counter: &str, location: &str) -> Option<String> {
    (location != Location::DEFAULT).then(|| format!("{counter}@{location}"))
}

#[cfg(test)]
#[path = "level_tests.rs"]
mod tests;
