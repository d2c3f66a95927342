//! Catalog import: rows of [`CatalogRow`] (from `stockwatch import` or
//! `POST /v1/skus/import`), each applied like `PUT …/stock` and `PUT …/alerts` together, all
//! of it or none. A row that changes nothing writes nothing (no movement, no event, no
//! alert), so importing a file twice changes nothing the second time.
//!
//! A [`Loader`] takes rows as they are read and runs them a chunk at a time: a chunk's SKUs
//! join the catalog in one script call and those with rules the alert list in one `SADD`,
//! before any of its rows is written; then its rows commit in transactions of many SKUs
//! (`group`), rows of one SKU in file order. One chunk commits while the next is read and
//! named (docs/guides/catalog.md says why it is built so).

mod group;

use crate::Inventory;
use crate::domain::{CatalogRow, InvalidInput, Sku};
use crate::error::Error;
use futures_util::future::join_all;
use group::{GROUP, apply_group};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use tokio::sync::oneshot;

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

/// What a row did.
pub(crate) enum Outcome {
    /// It made its SKU.
    Created,
    /// It changed its SKU.
    Changed,
    /// Its SKU already was as it says: nothing written, no movement, no event.
    Unchanged,
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

/// Feeds rows to the store a chunk at a time, in a pipeline: while one chunk commits, the
/// ones after it (up to `IN_FLIGHT` in all) are read and name their SKUs (catalog, alert
/// list). Chunks commit one after another, so the rows of a SKU land in file order.
pub struct Loader {
    store: Inventory,
    summary: Summary,
    chunk: Vec<(u64, CatalogRow)>,
    /// Chunks started, oldest first: at most [`IN_FLIGHT`].
    running: VecDeque<tokio::task::JoinHandle<Result<Results, Error>>>,
    /// Says when the newest chunk has committed (`true`) or failed (`false`, or dropped).
    committed: Option<oneshot::Receiver<bool>>,
}

/// Chunks started and not yet counted. With two, Redis and the importer took turns waiting
/// for each other (each about two thirds busy); four keep both busy.
const IN_FLIGHT: usize = 4;

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl Loader {
    /// A loader into `store`.
    pub fn new(store: &Inventory) -> Self {
        Self {
            store: store.clone(),
            summary: Summary::default(),
            chunk: Vec::with_capacity(CHUNK),
            running: VecDeque::new(),
            committed: None,
        }
    }

    /// Takes a row as read: queued, or refused here when it did not parse. A full chunk
    /// starts once the one before it is done. An error stops the import (Redis failed);
    /// [`Loader::summary`] still tells what landed.
    pub async fn push(&mut self, line: u64, row: Result<CatalogRow, InvalidInput>) -> Result<(), Error> {
        match row {
            Ok(row) => self.chunk.push((line, row)),
            Err(e) => self.summary.refuse(line, &Error::InvalidRequest(e)),
        }
        if self.chunk.len() >= CHUNK {
            self.start().await?;
        }
        Ok(())
    }

    /// Refuses a line the caller could not read as a row (for example one past a size limit).
    pub fn refuse(&mut self, line: u64, error: &Error) {
        self.summary.refuse(line, error);
    }

    /// Applies the rows still queued, waits for every chunk, and answers.
    pub async fn finish(&mut self) -> Result<&Summary, Error> {
        if !self.chunk.is_empty() {
            self.start().await?;
        }
        self.wait().await?;
        Ok(&self.summary)
    }

    /// What the chunks done so far did, refusals in line order.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    async fn start(&mut self) -> Result<(), Error> {
        if self.running.len() >= IN_FLIGHT {
            self.wait_oldest().await?;
        }
        let (store, rows) = (self.store.clone(), std::mem::take(&mut self.chunk));
        let before = self.committed.take();
        let (tell, told) = oneshot::channel();
        self.committed = Some(told);
        self.running.push_back(tokio::spawn(async move {
            name(&store, &rows).await?;
            // A chunk whose elder failed commits nothing: the import stops at the elder.
            if let Some(before) = before
                && !before.await.unwrap_or(false)
            {
                return Ok(Vec::new());
            }
            let results = commit(&store, rows).await;
            let _ = tell.send(true);
            Ok(results)
        }));
        Ok(())
    }

    async fn wait(&mut self) -> Result<(), Error> {
        while !self.running.is_empty() {
            self.wait_oldest().await?;
        }
        Ok(())
    }

    async fn wait_oldest(&mut self) -> Result<(), Error> {
        let Some(running) = self.running.pop_front() else {
            return Ok(());
        };
        let results = running
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        for (line, result) in results {
            self.summary.count(line, result);
        }
        self.summary.refused.sort_by_key(|r| r.line);
        Ok(())
    }
}

/// Imports rows already read (`(line, row)`), through a [`Loader`]: the library's import
/// in one call.
pub async fn load(store: &Inventory, rows: impl IntoIterator<Item = (u64, CatalogRow)>) -> Result<Summary, Error> {
    let mut loader = Loader::new(store);
    for (line, row) in rows {
        loader.push(line, Ok(row)).await?;
    }
    Ok(loader.finish().await?.clone())
}

/// Names a chunk's SKUs before any of its rows is written: in the catalog, as `PUT …/stock`
/// does, so a listing never misses a SKU; and those with rules in the alert list, so the
/// alert readers follow the SKU's slot before any alert is raised.
async fn name(store: &Inventory, rows: &[(u64, CatalogRow)]) -> Result<(), Error> {
    let mut skus: Vec<&Sku> = rows.iter().map(|(_, r)| &r.sku).collect();
    skus.sort();
    skus.dedup();
    crate::catalog::add_all(store, &skus).await?;
    let mut ruled: Vec<&Sku> = rows
        .iter()
        .filter(|(_, r)| r.low_stock_threshold.is_some() || r.reorder_point.is_some())
        .map(|(_, r)| &r.sku)
        .collect();
    ruled.dedup();
    Ok(crate::alerts::list_alerting(store, &ruled).await?)
}

/// Commits a named chunk's rows; each row's result, in line order.
async fn commit(store: &Inventory, rows: Vec<(u64, CatalogRow)>) -> Results {
    // Transactions of up to GROUP SKUs (on a cluster, of one slot's, since a transaction
    // cannot span slots), each SKU's rows in one of them.
    let mut groups: Vec<Vec<(u64, &CatalogRow)>> = Vec::new();
    // Per slot, the group still taking SKUs and how many it has.
    let mut open: HashMap<u16, (usize, usize)> = HashMap::new();
    let mut placed: HashMap<&Sku, usize> = HashMap::new();
    for (line, row) in &rows {
        let group = match placed.get(&row.sku) {
            Some(&group) => group,
            None => {
                let slot = if store.is_cluster() {
                    store.keys().slot_of_sku(&row.sku)
                } else {
                    0
                };
                let (group, size) = open.entry(slot).or_insert((usize::MAX, GROUP));
                if *size == GROUP {
                    groups.push(Vec::new());
                    (*group, *size) = (groups.len() - 1, 0);
                }
                *size += 1;
                placed.insert(&row.sku, *group);
                *group
            }
        };
        groups[group].push((*line, row));
    }
    let runs = groups.into_iter().map(|rows| apply_group(store, rows));
    let mut results: Results = join_all(runs).await.into_iter().flatten().collect();
    results.sort_by_key(|(line, _)| *line);
    results
}

/// Each row's result.
pub(crate) type Results = Vec<(u64, Result<Outcome, Error>)>;
