//! `PUT` and `GET /v1/skus/{sku}/alerts`: a SKU's alert rules, kept in its stock hash.

use crate::Inventory;
use crate::domain::Sku;
use crate::error::Error;
use crate::level::{Level, Rules};
use crate::read_stock;
use crate::txn::{Optimistic, Plan};
use serde::Serialize;
use std::collections::HashMap;

/// A SKU's alert rules, as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertRules {
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// `low_stock` when `available` drops below it (`null`: no stock alerts).
    pub low_stock_threshold: Option<i64>,
    /// `reorder` when `available` drops below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<i64>,
    /// The quantity a `reorder` suggests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder_quantity: Option<i64>,
}

impl AlertRules {
    fn of(sku: &Sku, rules: Rules) -> Self {
        Self {
            sku: sku.clone(),
            low_stock_threshold: rules.low_stock_threshold,
            reorder_point: rules.reorder_point,
            reorder_quantity: rules.reorder_quantity,
        }
    }
}

/// Reads a SKU's rules; `unknown_sku` when it does not exist.
pub async fn get_rules(store: &Inventory, sku: &Sku) -> Result<AlertRules, Error> {
    let fields: HashMap<String, String> = store.query(redis::cmd("HGETALL").arg(store.keys().stock(sku))).await?;
    let level = Level::parse(sku, &fields)?.ok_or_else(|| Error::unknown_sku(sku))?;
    Ok(AlertRules::of(sku, level.rules))
}

/// Sets a SKU's rules (replacing the reorder pair, or removing it when `None`). Setting a
/// rule raises nothing by itself: alerts are crossings, made by changes of stock.
pub async fn set_rules(store: &Inventory, sku: &Sku, rules: Rules) -> Result<AlertRules, Error> {
    // Listed first, so the readers of alerts follow this SKU's slot before any is raised.
    // Only a SKU that exists is listed, so a refused call leaves nothing behind. A retired
    // SKU stays listed: its alerts stay readable.
    let exists: bool = store.query(redis::cmd("EXISTS").arg(store.keys().stock(sku))).await?;
    if !exists {
        return Err(Error::unknown_sku(sku));
    }
    super::list_alerting(store, &[sku]).await?;
    let op = SetRules { store, sku, rules };
    crate::answer(crate::txn::run(store, &op).await, Err).result
}

struct SetRules<'a> {
    store: &'a Inventory,
    sku: &'a Sku,
    rules: Rules,
}

impl Optimistic for SetRules<'_> {
    type Snapshot = (HashMap<String, String>,);
    type Output = AlertRules;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, _attempt: u32) -> Result<Plan<AlertRules>, Error> {
        let mut level: Level = Level::parse(self.sku, &fields)?.ok_or_else(|| Error::unknown_sku(self.sku))?;
        level.rules = self.rules;
        let key = self.store.keys().stock(self.sku);
        let mut set = Vec::new();
        let mut unset = Vec::new();
        for (field, value) in [
            ("low_threshold", self.rules.low_stock_threshold),
            ("reorder_point", self.rules.reorder_point),
            ("reorder_quantity", self.rules.reorder_quantity),
        ] {
            match value {
                Some(v) => set.push((field, v)),
                None => unset.push(field),
            }
        }
        let mut writes = Vec::new();
        if !set.is_empty() {
            // With the settings mark, so that a `lua` take reads the rules.
            let hset = redis::cmd("HSET").arg(&key).arg(&set).to_owned();
            writes.push(crate::settings_mark::marking(hset));
        }
        if !unset.is_empty() {
            writes.push(redis::cmd("HDEL").arg(&key).arg(&unset).to_owned());
        }
        writes.extend(super::index_cmds(self.store, self.sku, &level));
        Ok(Plan {
            writes,
            output: AlertRules::of(self.sku, self.rules),
        })
    }
}
