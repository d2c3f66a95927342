//! The one-time conversions of a store that earlier versions wrote, run before anything
//! writes to it (`serve` at start, `stockwatch import` before its first row). Each is marked
//! done in the store, so it costs one `EXISTS` afterwards, and on an empty store it only sets
//! its mark. A failed step is logged and tried again at the next start.

use crate::Inventory;

/// Runs every conversion not done yet, in order.
pub async fn upgrade(store: &Inventory) {
    // SKUs made before the catalog existed join it.
    match crate::catalog::backfill(store).await {
        Ok(0) => {}
        Ok(added) => tracing::info!(added, "catalog backfilled"),
        Err(e) => tracing::warn!(error = %e, "catalog backfill failed; the next start tries again"),
    }
    // Movement streams become history lists.
    match crate::history_upgrade::upgrade(store).await {
        Ok(0) => {}
        Ok(converted) => tracing::info!(converted, "movement streams converted to history lists"),
        Err(e) => tracing::warn!(error = %e, "movement history upgrade failed; the next start tries again"),
    }
    // SKUs with settings from before the settings mark get it; until then, takes read every
    // setting of every SKU.
    match crate::settings_mark::upgrade(store).await {
        Ok(0) => {}
        Ok(marked) => tracing::info!(marked, "SKUs with settings marked"),
        Err(e) => tracing::warn!(error = %e, "settings mark upgrade failed; the next start tries again"),
    }
    // SKUs with thresholds from before the low-stock index join it.
    match crate::alerts::backfill_low_stock(store).await {
        Ok(0) => {}
        Ok(indexed) => tracing::info!(indexed, "low-stock index built"),
        Err(e) => tracing::warn!(error = %e, "low-stock index backfill failed; the next start tries again"),
    }
}
