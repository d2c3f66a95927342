//! The stockroom's engine: the admin operations (set, restock, transfer, adjust) each
//! supply one [`Step`]; this runs it as one optimistic transaction on the SKU's stock hash,
//! with one model of the hash (`super::level`), and answers with exactly what it wrote.

use super::alerts::crossing_cmd;
use super::level::{Level, MAX_LOCATIONS, Place, field_at};
use super::movements::{BORN, BORN_IN_LIST, born_entry, record_cmds};
use super::{Stock, admin_entry, now_ms, read_stock, settings_mark};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{InvalidInput, Location, Reference, Sku};
use crate::error::Error;
use crate::txn::{Optimistic, Plan};
use redis::Cmd;
use std::collections::HashMap;

/// One admin change of a SKU's stock: its decision only.
pub(crate) trait Step: Sync {
    /// Whether the change may create the SKU (a set does; the others need it to exist).
    const CREATES: bool = false;

    /// Whether the step reads the stock hash's other fields (a purchase order's), which
    /// the change then keeps in [`Change::fields`].
    const READS_FIELDS: bool = false;

    /// Decides from the level as read (in `change`), adding the writes, or refuses.
    /// `attempt` is for the refusals that report it.
    fn apply(&self, change: &mut Change, attempt: u32) -> Result<(), Error>;
}

/// Runs `step` on `sku` as the admin operation `kind`, and reports it.
pub(crate) async fn run<S: Step>(store: &Inventory, kind: EntryKind, sku: &Sku, step: S) -> Result<Stock, Error> {
    if S::CREATES {
        // Named before it exists, so a listing never misses a SKU that does.
        super::catalog::add(store, sku).await?;
    }
    let op = Admin {
        store,
        sku,
        step,
        at_ms: now_ms(),
    };
    super::run_admin(store, kind, sku, &op).await
}

struct Admin<'a, S> {
    store: &'a Inventory,
    sku: &'a Sku,
    step: S,
    at_ms: i64,
}

impl<S: Step> Optimistic for Admin<'_, S> {
    type Snapshot = (HashMap<String, String>,);
    type Output = Stock;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, attempt: u32) -> Result<Plan<Stock>, Error> {
        let change = self.change(&fields, attempt)?;
        Ok(Plan {
            output: change.level.to_stock(self.sku),
            writes: change.into_writes(),
        })
    }
}

impl<'a, S: Step> Admin<'a, S> {
    /// The step's change of the level as read.
    fn change(&self, fields: &HashMap<String, String>, attempt: u32) -> Result<Change<'a>, Error> {
        let level = Level::parse(self.sku, fields)?;
        if level.is_none() && !S::CREATES {
            return Err(Error::unknown_sku(self.sku));
        }
        let mut change = Change::new(self.store, self.sku, self.at_ms, level);
        if S::READS_FIELDS {
            change.fields.clone_from(fields);
        }
        self.step.apply(&mut change, attempt)?;
        Ok(change)
    }
}

/// A level about to change, with the writes that make the change.
pub(crate) struct Change<'a> {
    store: &'a Inventory,
    /// The SKU.
    pub sku: &'a Sku,
    at_ms: i64,
    key: String,
    /// The level as it will be after the writes.
    pub level: Level,
    writes: Vec<Cmd>,
    /// For a SKU this change creates: every field of its hash, written by one `HSET` ahead
    /// of the other writes instead of a command per field.
    fresh: Option<Vec<(String, String)>>,
    /// Edits so far, each write or change of `fresh` one: whether a step did anything.
    edits: usize,
    /// The threshold changed: the low-stock index entry is written last, from the level
    /// the writes leave (which the WATCH holds).
    threshold_changed: bool,
    /// True while the change creates the SKU: its first movement is its `born` field.
    creating: bool,
    /// The stock hash as read, for a step that reads more than the level
    /// ([`Step::READS_FIELDS`]); empty otherwise.
    pub(crate) fields: HashMap<String, String>,
}

impl<'a> Change<'a> {
    /// Starts from `level` as read; a SKU that does not exist yet starts with every counter
    /// at 0, so the hash is well formed whatever the step adds.
    pub(crate) fn new(store: &'a Inventory, sku: &'a Sku, at_ms: i64, level: Option<Level>) -> Self {
        let creating = level.is_none();
        let fresh = creating.then(|| {
            ["available", "reserved", "sold", "received"]
                .map(|field| (field.to_owned(), "0".to_owned()))
                .to_vec()
        });
        let level = level.unwrap_or_else(|| Level {
            totals: Default::default(),
            rules: Default::default(),
            moved: 0,
            sale: None,
            preorders: None,
            orders: Vec::new(),
            places: vec![Place {
                name: Location::default_location(),
                priority: 0,
                counts: Default::default(),
            }],
        });
        Self {
            store,
            sku,
            at_ms,
            key: store.keys().stock(sku),
            level,
            writes: Vec::new(),
            fresh,
            edits: 0,
            threshold_changed: false,
            creating,
            fields: HashMap::new(),
        }
    }

    /// Sets the safety stock at `location` to `units`: what takes, alerts and the low-stock
    /// index see moves the other way, so the alert check runs on that move.
    pub(crate) fn set_safety(&mut self, location: &Location, units: i64) -> Result<(), Error> {
        let delta = units - self.existing(location)?.counts.safety;
        if delta != 0 {
            self.add("safety", location, delta);
            if self.level.rules.any() {
                self.push(crossing_cmd(self.store, self.sku, -delta, self.at_ms, false));
            }
        }
        Ok(())
    }

    /// Sets fields of the stock hash (a purchase order's record).
    pub(crate) fn set_fields(&mut self, fields: Vec<(String, String)>) {
        self.hset(fields);
    }

    /// Adds `by` to a counter of the stock hash, in the totals and at `location`.
    pub(crate) fn add(&mut self, counter: &str, location: &Location, by: i64) {
        self.incr(counter.to_owned(), by);
        if let Some(field) = field_at(counter, location.as_str()) {
            self.incr(field, by);
        }
        *self.level.totals.get_mut(counter) += by;
        if let Some(place) = self.level.places.iter_mut().find(|p| &p.name == location) {
            *place.counts.get_mut(counter) += by;
        }
    }

    /// Queues a write.
    fn push(&mut self, cmd: Cmd) {
        self.writes.push(cmd);
        self.edits += 1;
    }

    /// Sets fields of the stock hash: in the new SKU's one `HSET`, or by an `HSET` of their own;
    /// a setting with the settings mark, in the same `HSET` (no state kept, so a step
    /// undone by `apply_row` takes its mark with it).
    fn hset(&mut self, mut fields: Vec<(String, String)>) {
        if fields
            .iter()
            .any(|(f, _)| settings_mark::SETTINGS.contains(&f.as_str()))
        {
            fields.push((settings_mark::FIELD.to_owned(), "1".to_owned()));
        }
        match &mut self.fresh {
            Some(fresh) => {
                for (field, value) in fields {
                    match fresh.iter_mut().find(|(f, _)| *f == field) {
                        Some(slot) => slot.1 = value,
                        None => fresh.push((field, value)),
                    }
                }
                self.edits += 1;
            }
            None => self.push(redis::cmd("HSET").arg(&self.key).arg(fields).to_owned()),
        }
    }

    fn incr(&mut self, field: String, by: i64) {
        let counted = self.fresh.as_ref().map(|fresh| {
            let now = fresh.iter().find(|(f, _)| *f == field).map(|(_, v)| v.as_str());
            now.map_or(0, |v| v.parse::<i64>().unwrap_or(0)) + by
        });
        match counted {
            Some(value) => self.hset(vec![(field, value.to_string())]),
            None => {
                if settings_mark::SETTINGS.contains(&field.as_str()) {
                    self.push(settings_mark::cmd(&self.key));
                }
                self.push(redis::cmd("HINCRBY").arg(&self.key).arg(field).arg(by).to_owned());
            }
        }
    }

    /// The location `name`, or `unknown_location`.
    pub(crate) fn existing(&self, name: &Location) -> Result<&Place, Error> {
        self.level.place(name.as_str()).ok_or_else(|| Error::UnknownLocation {
            sku: self.sku.clone(),
            location: name.clone(),
        })
    }

    /// Records the change: its movement of `kind` (`quantity`, with `extra` fields), its
    /// ledger entry, and the alert check of the totals' move by `total_delta`.
    pub(crate) fn record(&mut self, kind: EntryKind, quantity: i64, total_delta: i64, extra: &[(&str, &str)]) {
        let (store, sku, at) = (self.store, self.sku, self.at_ms);
        let born = std::mem::take(&mut self.creating).then(|| born_entry(kind, quantity, at, extra));
        match born {
            Some(Some(entry)) => self.hset(vec![(BORN.to_owned(), entry)]),
            born => {
                for cmd in record_cmds(store, sku, kind, quantity, Reference::Admin, at, extra) {
                    self.push(cmd);
                }
                if born.is_some() {
                    self.hset(vec![(BORN.to_owned(), BORN_IN_LIST.to_owned())]);
                }
            }
        }
        if let Some(entry) = admin_entry(store, sku, kind, quantity, at) {
            self.push(entry);
        }
        if total_delta != 0 && self.level.rules.any() {
            self.push(crossing_cmd(store, sku, total_delta, at, false));
        }
    }

    /// Units arrive at (`delta` > 0) or leave (`delta` < 0) `location`'s `available`, as
    /// stock received or written off. With `totals`, the SKU's totals move too; without
    /// (one side of a transfer), only the named location does.
    pub(crate) fn receive(&mut self, location: &Location, delta: i64, totals: bool) {
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

    /// Moves `n` units at `location` from counter `from` to counter `to` (`None`: units
    /// leaving the SKU, as a write-off does, which takes them off `received`), in the totals
    /// and at the location.
    pub(crate) fn shift(&mut self, location: &Location, from: &str, to: Option<&str>, n: i64) {
        let moves = match to {
            Some(to) => [(from, -n), (to, n)],
            None => [(from, -n), ("received", -n)],
        };
        for (counter, by) in moves {
            self.add(counter, location, by);
        }
    }

    /// Sets the rules a row gives (`None`: left as they are), writing only what differs.
    pub(crate) fn rules(&mut self, low_stock_threshold: Option<i64>, reorder: Option<(i64, i64)>) {
        let rules = &mut self.level.rules;
        let mut set: Vec<(&str, i64)> = Vec::new();
        if let Some(t) = low_stock_threshold.filter(|t| rules.low_stock_threshold != Some(*t)) {
            rules.low_stock_threshold = Some(t);
            set.push(("low_threshold", t));
        }
        if let Some((point, quantity)) =
            reorder.filter(|r| (rules.reorder_point, rules.reorder_quantity) != (Some(r.0), Some(r.1)))
        {
            (rules.reorder_point, rules.reorder_quantity) = (Some(point), Some(quantity));
            set.extend([("reorder_point", point), ("reorder_quantity", quantity)]);
        }
        if !set.is_empty() {
            self.hset(set.into_iter().map(|(f, v)| (f.to_owned(), v.to_string())).collect());
            self.threshold_changed = true;
        }
    }

    /// Applies one more `step` (an import's next row of this SKU): all of it or, when it
    /// refuses, none of it. Whether it wrote anything.
    pub(crate) fn apply_row<S: Step>(&mut self, step: &S, attempt: u32) -> Result<bool, Error> {
        let (written, edits, indexed) = (self.writes.len(), self.edits, self.threshold_changed);
        let (level, fresh, creating) = (self.level.clone(), self.fresh.clone(), self.creating);
        match step.apply(self, attempt) {
            Ok(()) => Ok(self.edits > edits),
            Err(e) => {
                self.writes.truncate(written);
                (self.edits, self.level, self.fresh, self.creating) = (edits, level, fresh, creating);
                self.threshold_changed = indexed;
                Err(e)
            }
        }
    }

    /// The writes: a new SKU's `HSET` first, then the rest in the order they were made, then
    /// the low-stock index entries when the threshold changed, or when a SKU with one and
    /// named locations changed (a transfer moves no total, so no alert check indexes it).
    pub(crate) fn into_writes(self) -> Vec<Cmd> {
        let mut writes = Vec::with_capacity(self.writes.len() + 2);
        if let Some(fresh) = &self.fresh {
            writes.push(redis::cmd("HSET").arg(&self.key).arg(fresh).to_owned());
        }
        let level = &self.level;
        let reindex = self.threshold_changed || (self.edits > 0 && level.indexes_places());
        let index = reindex.then(|| super::alerts::index_cmds(self.store, self.sku, level));
        writes.extend(self.writes);
        writes.extend(index.into_iter().flatten());
        writes
    }

    /// Whether this change creates the SKU and has not recorded its first movement yet.
    pub(crate) fn creating(&self) -> bool {
        self.creating
    }

    /// Makes sure `location` exists, with `priority` when given (a new location without one
    /// goes last), and rewrites the draw order when anything changed.
    pub(crate) fn place(&mut self, location: &Location, priority: Option<i64>) -> Result<(), Error> {
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
            let mut fields = vec![("locs".to_owned(), list.join(","))];
            fields.extend(
                places
                    .iter()
                    .map(|p| (format!("priority@{}", p.name), p.priority.to_string())),
            );
            self.hset(fields);
        }
        Ok(())
    }
}
