//! The stockroom's changes to a SKU's locations, as writes plus the level they leave, so
//! the admin operations (set, restock, transfer, adjust) share one model of the hash
//! (`super::level`) and each answers with exactly what it wrote.

use super::alerts::crossing_cmd;
use super::level::{Level, MAX_LOCATIONS, Place, field_at};
use crate::domain::{InvalidInput, Location, Sku};
use crate::error::Error;
use crate::store::Store;
use redis::Cmd;

/// A level about to change, with the writes that make the change.
pub(crate) struct Change {
    /// The stock key.
    pub key: String,
    /// The level as it will be after the writes.
    pub level: Level,
    /// The writes so far.
    pub writes: Vec<Cmd>,
}

impl Change {
    /// Starts from `level` as read; a SKU that does not exist yet is created with every
    /// counter at 0, so the increments below apply to a well-formed hash.
    pub fn new(key: String, level: Option<Level>) -> Self {
        let mut writes = Vec::new();
        let level = level.unwrap_or_else(|| {
            writes.push(
                redis::cmd("HSET")
                    .arg(&key)
                    .arg(&[("available", 0), ("reserved", 0), ("sold", 0), ("received", 0)])
                    .to_owned(),
            );
            Level {
                totals: Default::default(),
                rules: Default::default(),
                places: vec![Place {
                    name: Location::default_location(),
                    priority: 0,
                    counts: Default::default(),
                }],
            }
        });
        Self { key, level, writes }
    }

    /// The location `name`, or `unknown_location`.
    pub fn existing(&self, sku: &Sku, name: &Location) -> Result<&Place, Error> {
        self.level.place(name.as_str()).ok_or_else(|| Error::UnknownLocation {
            sku: sku.to_string(),
            location: name.to_string(),
        })
    }

    /// Units arrive at (`delta` > 0) or leave (`delta` < 0) `location`'s `available`, as
    /// stock received or written off. With `totals`, the SKU's totals move too; without
    /// (one side of a transfer), only the named location does.
    pub fn receive(&mut self, location: &Location, delta: i64, totals: bool) {
        if delta == 0 {
            return;
        }
        for counter in ["available", "received"] {
            if totals {
                self.incr(counter.to_owned(), delta);
            }
            if let Some(field) = field_at(counter, location.as_str()) {
                self.incr(field, delta);
            }
        }
        if totals {
            self.level.totals.available += delta;
            self.level.totals.received += delta;
        }
        if let Some(place) = self.level.places.iter_mut().find(|p| &p.name == location) {
            place.counts.available += delta;
            place.counts.received += delta;
        }
    }

    /// Queues the alert check after a change of the totals by `delta`, when the SKU has
    /// rules (`super::alerts`).
    pub fn check_alerts(&mut self, store: &Store, sku: &Sku, delta: i64, at_ms: i64) {
        if delta != 0 && self.level.rules.any() {
            self.writes.push(crossing_cmd(store, sku, delta, at_ms));
        }
    }

    fn incr(&mut self, field: String, by: i64) {
        self.writes
            .push(redis::cmd("HINCRBY").arg(&self.key).arg(field).arg(by).to_owned());
    }

    /// Makes sure `location` exists, with `priority` when given (a new location without one
    /// goes last), and rewrites the draw order when anything changed.
    pub fn place(&mut self, location: &Location, priority: Option<i64>) -> Result<(), Error> {
        let places = &mut self.level.places;
        let changed = match places.iter_mut().find(|p| &p.name == location) {
            Some(place) => match priority {
                Some(p) if p != place.priority => {
                    place.priority = p;
                    true
                }
                _ => false,
            },
            None => {
                if places.len() >= MAX_LOCATIONS {
                    return Err(InvalidInput::new(format!("a SKU has at most {MAX_LOCATIONS} locations")).into());
                }
                let last = places.iter().map(|p| p.priority).max().unwrap_or(0) + 1;
                places.push(Place {
                    name: location.clone(),
                    priority: priority.unwrap_or(last),
                    counts: Default::default(),
                });
                true
            }
        };
        if changed {
            places.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
            let list: Vec<&str> = places.iter().map(|p| p.name.as_str()).collect();
            let mut hset = redis::cmd("HSET");
            hset.arg(&self.key).arg("locs").arg(list.join(","));
            for p in places.iter() {
                hset.arg(format!("priority@{}", p.name)).arg(p.priority);
            }
            self.writes.push(hset);
        }
        Ok(())
    }
}
