//! Stock alerts: the rules per SKU, the check every change queues (`crossing`), the reads
//! of what was raised (`list`), and what is low now (`low`, with its index).
//!
//! A change that moves a SKU's total `available` queues `crates/ops/src/lua/alerts.lua` after its
//! writes, in the same MULTI or script, so each crossing is decided once against the level
//! the change itself left: a rush of a thousand buyers raises exactly one `low_stock`.

mod contention;
mod crossing;
mod follow;
mod list;
mod low;
mod rules;

pub use contention::ContentionWatch;
pub(crate) use crossing::{crossing_cmd, index_cmds, places_cmds, unindex_cmds, with_alerts};
pub use follow::Follower;
pub use list::{Alert, AlertList, alert_slots, list_alerts, read_since};
pub(crate) use low::{COMPLETE as LOW_STOCK_COMPLETE, index as low_stock_index, list_alerting};
pub use low::{LowStock, LowStockList, backfill as backfill_low_stock, low_stock};
pub use rules::{AlertRules, get_rules, set_rules};
