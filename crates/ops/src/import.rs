//! Catalog import: rows of [`CatalogRow`] (from `stockwatch import` or
//! `POST /v1/skus/import`), each applied as one optimistic transaction on its SKU, like
//! `PUT …/stock` and `PUT …/alerts` together. A row that changes nothing writes nothing (no
//! movement, no event, no alert), so importing a file twice changes nothing the second time.
//!
//! Rows come in chunks. A chunk's SKUs join the catalog in one script call and its SKUs with
//! rules join the alert list in one `SADD`, before any of its rows is written; then rows of
//! different SKUs run concurrently and rows of one SKU in file order.

use crate::Inventory;
use crate::domain::{CatalogRow, EntryKind, InvalidInput, Location, Sku};
use crate::error::Error;
use crate::set_stock::set_level;
use crate::stockroom::{Change, Outcome, Step, run_if_changed};
use futures_util::future::join_all;
use serde::Serialize;
use std::collections::HashMap;

/// Rows applied per chunk: enough to keep Redis busy, few enough to report progress often.
pub const CHUNK: usize = 512;

/// What an import did: how many rows made, changed or left alone a SKU, and every row
/// refused with why. The body of `POST /v1/skus/import`'s `200`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Rows that created their SKU.
    pub created: u64,
    /// Rows that changed an existing SKU.
    pub changed: u64,
    /// Rows equal to what was stored: nothing written.
    pub unchanged: u64,
    /// Rows not applied, in line order.
    pub refused: Vec<RefusedRow>,
}

/// One row not applied: it changed nothing, and the rows around it still landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RefusedRow {
    /// Its line in the file or body, from 1 (a CSV header is line 1).
    pub line: u64,
    /// The contract's error code: `invalid_request` for a row that does not parse,
    /// otherwise what the single endpoint would answer (for example `contention`).
    pub error: String,
    /// Why, naming the field.
    pub message: String,
}

impl Summary {
    /// Counts one row's result.
    pub(crate) fn count(&mut self, line: u64, result: Result<Outcome, Error>) {
        match result {
            Ok(Outcome::Created) => self.created += 1,
            Ok(Outcome::Changed) => self.changed += 1,
            Ok(Outcome::Unchanged) => self.unchanged += 1,
            Err(e) => self.refuse(line, &e),
        }
    }

    /// Takes a row as read: queued on `rows` to apply, or refused here when it did not parse.
    pub fn accept(&mut self, line: u64, row: Result<CatalogRow, InvalidInput>, rows: &mut Vec<(u64, CatalogRow)>) {
        match row {
            Ok(row) => rows.push((line, row)),
            Err(e) => self.refuse(line, &Error::InvalidRequest(e)),
        }
    }

    /// Records a refused row.
    pub fn refuse(&mut self, line: u64, error: &Error) {
        self.refused.push(RefusedRow {
            line,
            error: error.code().to_owned(),
            message: error.to_string(),
        });
    }

    /// Rows seen.
    pub fn rows(&self) -> u64 {
        self.created + self.changed + self.unchanged + self.refused.len() as u64
    }

    /// Whether every row landed.
    pub fn ok(&self) -> bool {
        self.refused.is_empty()
    }
}

/// Applies a chunk of `(line, row)`s and counts each into `summary`, in line order.
pub async fn apply(store: &Inventory, rows: Vec<(u64, CatalogRow)>, summary: &mut Summary) -> Result<(), Error> {
    let mut skus: Vec<&Sku> = rows.iter().map(|(_, r)| &r.sku).collect();
    skus.sort();
    skus.dedup();
    // Named before they exist, as `PUT …/stock` does, so a listing never misses a SKU.
    crate::catalog::add_all(store, &skus).await?;
    let mut ruled: Vec<&Sku> = rows
        .iter()
        .filter(|(_, r)| r.low_stock_threshold.is_some() || r.reorder_point.is_some())
        .map(|(_, r)| &r.sku)
        .collect();
    ruled.dedup();
    // Listed first, so the alert readers follow the SKU's slot before any alert is raised.
    crate::alerts::list_ruled(store, &ruled).await?;
    let mut by_sku: HashMap<&Sku, Vec<(u64, &CatalogRow)>> = HashMap::new();
    for (line, row) in &rows {
        by_sku.entry(&row.sku).or_default().push((*line, row));
    }
    let runs = by_sku.into_values().map(|rows| async move {
        let mut results = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            let result = run_if_changed(store, EntryKind::Set, &row.sku, Row(row)).await;
            results.push((line, result));
        }
        results
    });
    let mut results: Vec<(u64, Result<Outcome, Error>)> = join_all(runs).await.into_iter().flatten().collect();
    results.sort_by_key(|(line, _)| *line);
    for (line, result) in results {
        summary.count(line, result);
    }
    Ok(())
}

/// One row as a stockroom step: the level at its location, its priority, its rules.
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
        Ok(())
    }
}
