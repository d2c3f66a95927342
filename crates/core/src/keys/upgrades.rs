//! The keys of the one-time conversions (`ops::upgrade`): what earlier versions left, and
//! the marks that say a conversion is done.

use super::Keys;
use crate::domain::Sku;

impl Keys {
    /// A SCAN pattern matching the movement streams of earlier versions, which
    /// `ops::history_upgrade` converts to history lists.
    pub fn old_movements_pattern(&self) -> String {
        format!("{}:sku:{{*}}:moves", self.prefix)
    }

    /// The SKU whose old movement stream `key` is.
    pub fn sku_of_old_movements_key(&self, key: &str) -> Option<Sku> {
        self.sku_of_stock_key(key.strip_suffix(":moves")?)
    }

    /// Set once every old movement stream was converted (`ops::history_upgrade`).
    pub fn history_upgraded(&self) -> String {
        format!("{}:history:upgraded", self.prefix)
    }

    /// Set once every SKU with a setting carries the settings mark (`ops::settings_mark`).
    pub fn settings_marked(&self) -> String {
        format!("{}:settings:marked", self.prefix)
    }

    /// Set once the catalog holds every SKU that existed before it did (see
    /// `ops::catalog::backfill`).
    pub fn catalog_complete(&self) -> String {
        format!("{}:catalog:{{catalog}}:complete", self.prefix)
    }

    /// The catalog of earlier versions, one sorted set of every name (about 110 bytes a
    /// SKU); the backfill builds the paged one and deletes it.
    pub fn old_catalog(&self) -> String {
        format!("{}:catalog", self.prefix)
    }

    /// Set once every SKU that had a threshold before the index existed was indexed, and
    /// every SKU with alerts has its slot listed (the value says which version did it).
    pub fn low_stock_complete(&self) -> String {
        format!("{}:alerts:low:complete", self.prefix)
    }
}
