//! `PUT` and `GET /v1/skus/{sku}/sale`: a SKU's sale settings (`crate::sale`), kept in its
//! stock hash.

use crate::Inventory;
use crate::domain::Sku;
use crate::error::Error;
use crate::level::Level;
use crate::read_stock;
use crate::sale::{FIELD, Sale, SaleChange};
use crate::settings_mark;
use crate::txn::{Optimistic, Plan};
use serde::Serialize;
use std::collections::HashMap;

/// A SKU's sale settings with the SKU, as `GET` and `PUT …/sale` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SaleSettings {
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// The settings.
    #[serde(flatten)]
    pub sale: Sale,
}

impl SaleSettings {
    /// The view of `sale`.
    pub fn of(sku: &Sku, sale: Sale) -> Self {
        Self { sku: sku.clone(), sale }
    }
}

/// Reads a SKU's sale settings; `unknown_sku` when it does not exist.
pub async fn get_sale(store: &Inventory, sku: &Sku) -> Result<SaleSettings, Error> {
    let fields: HashMap<String, String> = store.query(redis::cmd("HGETALL").arg(store.keys().stock(sku))).await?;
    let level = Level::parse(sku, &fields)?.ok_or_else(|| Error::unknown_sku(sku))?;
    Ok(SaleSettings::of(sku, level.sale.unwrap_or_default()))
}

/// Changes a SKU's sale settings (those the change names); answers with all of them.
/// `closes_at` must come after `opens_at` once both are known.
pub async fn set_sale(store: &Inventory, sku: &Sku, change: SaleChange) -> Result<SaleSettings, Error> {
    let op = SetSale { store, sku, change };
    crate::answer(crate::txn::run(store, &op).await, Err).result
}

struct SetSale<'a> {
    store: &'a Inventory,
    sku: &'a Sku,
    change: SaleChange,
}

impl Optimistic for SetSale<'_> {
    type Snapshot = (HashMap<String, String>,);
    type Output = SaleSettings;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, _attempt: u32) -> Result<Plan<SaleSettings>, Error> {
        let level = Level::parse(self.sku, &fields)?.ok_or_else(|| Error::unknown_sku(self.sku))?;
        let sale = self.change.apply(level.sale.unwrap_or_default());
        if let (Some(o), Some(c)) = (sale.opens_at, sale.closes_at)
            && c <= o
        {
            return Err(crate::domain::InvalidInput::new("closes_at must be later than opens_at").into());
        }
        let key = self.store.keys().stock(self.sku);
        let write = match sale.is_empty() {
            true => redis::cmd("HDEL").arg(&key).arg(FIELD).to_owned(),
            // With the settings mark, so that a `lua` take reads the sale.
            false => settings_mark::marking(redis::cmd("HSET").arg(&key).arg(FIELD).arg(sale.encode()).to_owned()),
        };
        Ok(Plan {
            writes: vec![write],
            output: SaleSettings::of(self.sku, sale),
        })
    }
}
