//! The stockroom's engine: the admin operations (set, restock, transfer, adjust) each
//! supply one [`Step`]; this runs it as one optimistic transaction on the SKU's stock hash,
//! with one model of the hash (`super::level`), and answers with exactly what it wrote.

use super::alerts::crossing_cmd;
use super::level::{Level, MAX_LOCATIONS, Place, field_at};
use super::movements::{birth_cmds, record_cmds};
use super::{Stock, admin_entry, now_ms, read_stock};
use crate::Inventory;
use crate::answered::{Answered, Unwritten};
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
            writes: change.writes,
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
        self.step.apply(&mut change, attempt)?;
        Ok(change)
    }
}

/// What [`run_if_changed`] did.
pub(crate) enum Outcome {
    /// The SKU was made.
    Created,
    /// It existed and changed.
    Changed,
    /// It already was as asked: nothing written, no movement, no event.
    Unchanged,
}

/// [`run`] for a change that may find nothing to do (an import row equal to what is
/// stored): then it commits nothing and reports nothing. The caller names a new SKU in the
/// catalog first (an import does it for a whole chunk of rows at once).
pub(crate) async fn run_if_changed<S: Step>(
    store: &Inventory,
    kind: EntryKind,
    sku: &Sku,
    step: S,
) -> Result<Outcome, Error> {
    let started = tokio::time::Instant::now();
    store.list_journal_slot(store.keys().slot_of_sku(sku)).await?;
    let op = IfChanged(Admin {
        store,
        sku,
        step,
        at_ms: now_ms(),
    });
    let run = crate::txn::run(store, &op).await;
    let Answered { result, effort, .. } = super::answered::answer(run, |unwritten| match unwritten {
        Unwritten::Answered(()) => Ok(Outcome::Unchanged),
        Unwritten::Refused(e) => Err(e),
    });
    if !matches!(result, Ok(Outcome::Unchanged)) {
        super::answered::finished(store, kind, "watch", started, &result, effort, || vec![sku.clone()]);
    }
    result
}

/// [`Admin`] whose no-op is an answer, not a commit.
struct IfChanged<'a, S>(Admin<'a, S>);

impl<S: Step> Optimistic for IfChanged<'_, S> {
    type Snapshot = (HashMap<String, String>,);
    type Output = Outcome;
    type Rejection = Unwritten<()>;

    fn watch_keys(&self) -> Vec<String> {
        self.0.watch_keys()
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        self.0.read(pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, attempt: u32) -> Result<Plan<Outcome>, Unwritten<()>> {
        let created = fields.is_empty();
        let change = self.0.change(&fields, attempt)?;
        if change.writes.is_empty() {
            return Err(Unwritten::Answered(()));
        }
        let outcome = if created { Outcome::Created } else { Outcome::Changed };
        Ok(Plan {
            output: outcome,
            writes: change.writes,
        })
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
    /// True while the change creates the SKU: its first movement is its `born` field.
    creating: bool,
}

impl<'a> Change<'a> {
    /// Starts from `level` as read; a SKU that does not exist yet is created with every
    /// counter at 0, so the increments below apply to a well-formed hash.
    fn new(store: &'a Inventory, sku: &'a Sku, at_ms: i64, level: Option<Level>) -> Self {
        let key = store.keys().stock(sku);
        let creating = level.is_none();
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
                moved: 0,
                places: vec![Place {
                    name: Location::default_location(),
                    priority: 0,
                    counts: Default::default(),
                }],
            }
        });
        Self {
            store,
            sku,
            at_ms,
            key,
            level,
            writes,
            creating,
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
        if std::mem::take(&mut self.creating) {
            self.writes.extend(birth_cmds(store, sku, kind, quantity, at, extra));
        } else {
            self.writes
                .extend(record_cmds(store, sku, kind, quantity, Reference::Admin, at, extra));
        }
        self.writes.extend(admin_entry(store, sku, kind, quantity, at));
        if total_delta != 0 && self.level.rules.any() {
            self.writes.push(crossing_cmd(store, sku, total_delta, at));
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
            self.writes.push(redis::cmd("HSET").arg(&self.key).arg(&set).to_owned());
            self.writes.push(super::alerts::reindex_cmd(self.store, self.sku));
        }
    }

    /// Whether this change creates the SKU and has not recorded its first movement yet.
    pub(crate) fn creating(&self) -> bool {
        self.creating
    }

    fn incr(&mut self, field: String, by: i64) {
        self.writes
            .push(redis::cmd("HINCRBY").arg(&self.key).arg(field).arg(by).to_owned());
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
