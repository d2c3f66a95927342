//! `PUT /v1/skus/{sku}/preorders` (v1.5): whether a SKU sells against incoming stock, and
//! how much of it; kept in its stock hash (`level::Preorders`) so a take reads it with the
//! level.

use crate::Inventory;
use crate::domain::Sku;
use crate::error::Error;
use crate::level::{Level, Preorders};
use crate::read_stock;
use crate::settings_mark;
use crate::txn::{Optimistic, Plan};
use serde::Serialize;
use std::collections::HashMap;

/// A SKU's preorder settings and what they cover, as `PUT …/preorders` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PreorderSettings {
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// Whether a line the shelf cannot cover may be sold against incoming stock.
    pub enabled: bool,
    /// At most this many units preordered at once (none: as many as are incoming).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Units on their way.
    pub incoming: i64,
    /// Units of them already preordered.
    pub preordered: i64,
}

/// Turns preorders on (`Some`, with its limit) or off (`None`). Turning them off sells no
/// more preorders; those already taken still wait for their purchase orders.
pub async fn set_preorders(
    store: &Inventory,
    sku: &Sku,
    preorders: Option<Preorders>,
) -> Result<PreorderSettings, Error> {
    let op = SetPreorders { store, sku, preorders };
    crate::answer(crate::txn::run(store, &op).await, Err).result
}

struct SetPreorders<'a> {
    store: &'a Inventory,
    sku: &'a Sku,
    preorders: Option<Preorders>,
}

impl Optimistic for SetPreorders<'_> {
    type Snapshot = (HashMap<String, String>,);
    type Output = PreorderSettings;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, _attempt: u32) -> Result<Plan<PreorderSettings>, Error> {
        let level = Level::parse(self.sku, &fields)?.ok_or_else(|| Error::unknown_sku(self.sku))?;
        let key = self.store.keys().stock(self.sku);
        let write = match &self.preorders {
            None => redis::cmd("HDEL").arg(&key).arg(Preorders::FIELD).to_owned(),
            // With the settings mark, so that a `lua` take reads the setting.
            Some(p) => settings_mark::marking(
                redis::cmd("HSET")
                    .arg(&key)
                    .arg(Preorders::FIELD)
                    .arg(p.encode())
                    .to_owned(),
            ),
        };
        Ok(Plan {
            writes: vec![write],
            output: PreorderSettings {
                sku: self.sku.clone(),
                enabled: self.preorders.is_some(),
                limit: self.preorders.and_then(|p| p.limit),
                incoming: level.totals.incoming,
                preordered: level.totals.preordered,
            },
        })
    }
}
