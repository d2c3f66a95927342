//! An import's transactions: a group of rows (up to [`GROUP`] SKUs; on a cluster, of one
//! slot) as one WATCH/MULTI/EXEC, each row applied in line order to its SKU's change.

use super::{Outcome, Results};
use crate::Inventory;
use crate::answered::{Answered, answer, finished};
use crate::domain::{CatalogRow, EntryKind, Location, Sku};
use crate::error::Error;
use crate::level::Level;
use crate::set_stock::set_level;
use crate::stockroom::{Change, Step};
use crate::txn::{Optimistic, Plan};
use futures_util::future::{BoxFuture, join_all};
use redis::Cmd;
use std::collections::{BTreeSet, HashMap};

/// SKUs per transaction. Redis checks each WATCHed key against the ones the connection
/// already watches, so a WATCH of n keys costs O(n²): 512 keys took 1.5 ms of Redis, 64
/// take about 20 µs.
pub(super) const GROUP: usize = 64;

/// Applies rows (of SKUs in one slot, on a cluster) as one optimistic transaction. When it
/// keeps conflicting (live traffic on some of its SKUs), each SKU's rows go on their own, so
/// a busy SKU cannot hold back the rest.
pub(super) fn apply_group<'a>(store: &'a Inventory, rows: Vec<(u64, &'a CatalogRow)>) -> BoxFuture<'a, Results> {
    Box::pin(async move {
        let fail =
            |rows: &[(u64, &CatalogRow)], e: &Error| rows.iter().map(|(line, _)| (*line, Err(e.clone()))).collect();
        let op = Rows::new(store, &rows);
        let slots: BTreeSet<u16> = op.skus.iter().map(|sku| store.keys().slot_of_sku(sku)).collect();
        for slot in slots {
            if let Err(e) = store.list_journal_slot(slot).await {
                return fail(&rows, &e.into());
            }
        }
        let started = tokio::time::Instant::now();
        let Answered { result, effort, .. } = answer(crate::txn::run(store, &op).await, Ok);
        match result {
            Ok(results) => {
                // Results come in the rows' order; each SKU a row wrote, once.
                let mut written: Vec<Sku> = rows
                    .iter()
                    .zip(&results)
                    .filter(|(_, (_, result))| matches!(result, Ok(Outcome::Created | Outcome::Changed)))
                    .map(|((_, row), _)| row.sku.clone())
                    .collect();
                written.sort();
                written.dedup();
                if !written.is_empty() {
                    finished(store, EntryKind::Set, "watch", started, &Ok(()), effort, || written);
                }
                results
            }
            Err(Error::Contention { .. }) if op.skus.len() > 1 => {
                let mut by_sku: HashMap<&Sku, Vec<(u64, &CatalogRow)>> = HashMap::new();
                for (line, row) in &rows {
                    by_sku.entry(&row.sku).or_default().push((*line, row));
                }
                join_all(by_sku.into_values().map(|rows| apply_group(store, rows)))
                    .await
                    .into_iter()
                    .flatten()
                    .collect()
            }
            Err(e) => fail(&rows, &e),
        }
    })
}

/// A group of rows as one transaction: every SKU's hash watched and read, each row applied
/// in line order to its SKU's change. A refused row leaves its SKU as the rows before it
/// left it; a SKU none of whose rows landed is not written at all.
struct Rows<'a> {
    store: &'a Inventory,
    at_ms: i64,
    /// The group's SKUs, each once.
    skus: Vec<&'a Sku>,
    /// `(line, index into skus, row)`, in line order.
    rows: Vec<(u64, usize, &'a CatalogRow)>,
}

impl<'a> Rows<'a> {
    fn new(store: &'a Inventory, group: &[(u64, &'a CatalogRow)]) -> Self {
        let mut index: HashMap<&Sku, usize> = HashMap::new();
        let mut skus = Vec::new();
        let rows = group
            .iter()
            .map(|(line, row)| {
                let i = *index.entry(&row.sku).or_insert_with(|| {
                    skus.push(&row.sku);
                    skus.len() - 1
                });
                (*line, i, *row)
            })
            .collect();
        Self {
            store,
            at_ms: crate::now_ms(),
            skus,
            rows,
        }
    }
}

impl Optimistic for Rows<'_> {
    type Snapshot = Vec<HashMap<String, String>>;
    type Output = Results;
    /// Nothing to write: every row's answer.
    type Rejection = Results;

    fn watch_keys(&self) -> Vec<String> {
        self.skus.iter().map(|sku| self.store.keys().stock(sku)).collect()
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        for sku in &self.skus {
            crate::read_stock(self.store, sku, pipe);
        }
    }

    fn decide(&self, fields: Self::Snapshot, attempt: u32) -> Result<Plan<Results>, Results> {
        let mut changes: Vec<(Result<Change, Error>, bool)> = self
            .skus
            .iter()
            .zip(&fields)
            .map(|(sku, fields)| {
                let change = Level::parse(sku, fields)
                    .map(|level| Change::new(self.store, sku, self.at_ms, level))
                    .map_err(Error::from);
                (change, false)
            })
            .collect();
        let mut results = Vec::with_capacity(self.rows.len());
        for &(line, i, row) in &self.rows {
            let (change, landed) = &mut changes[i];
            let result = match change {
                Err(e) => Err(e.clone()),
                Ok(change) => change.apply_row(&Row(row), attempt).map(|wrote| match wrote {
                    false => Outcome::Unchanged,
                    true if fields[i].is_empty() && !*landed => Outcome::Created,
                    true => Outcome::Changed,
                }),
            };
            *landed |= result.is_ok();
            results.push((line, result));
        }
        let writes: Vec<Cmd> = changes
            .into_iter()
            .filter_map(|(change, landed)| change.ok().filter(|_| landed))
            .flat_map(Change::into_writes)
            .collect();
        if writes.is_empty() {
            return Err(results);
        }
        Ok(Plan {
            writes,
            output: results,
        })
    }
}

/// One row as a stockroom step: the level at its location, its priority, its rules, its
/// safety stock.
struct Row<'a>(&'a CatalogRow);

impl Step for Row<'_> {
    const CREATES: bool = true;

    fn apply(&self, change: &mut Change, _attempt: u32) -> Result<(), Error> {
        let row = self.0;
        let location = row.location.clone().unwrap_or_else(Location::default_location);
        set_level(change, &location, row.available, row.priority, false)?;
        let reorder = row
            .reorder_point
            .zip(row.reorder_quantity)
            .map(|(p, q)| (i64::from(p), i64::from(q)));
        change.rules(row.low_stock_threshold.map(i64::from), reorder);
        match row.safety_stock {
            Some(units) => change.set_safety(&location, units.get()),
            None => Ok(()),
        }
    }
}
