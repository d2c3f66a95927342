//! Stock alerts: the rules per SKU, the check every change queues (`crossing`), and the
//! reads of what was raised (`list`).
//!
//! A change that moves a SKU's total `available` queues `crates/ops/src/lua/alerts.lua` after its
//! writes, in the same MULTI or script, so each crossing is decided once against the level
//! the change itself left: a rush of a thousand buyers raises exactly one `low_stock`.

mod contention;
mod crossing;
mod follow;
mod list;
mod rules;

pub use contention::ContentionWatch;
pub(crate) use crossing::{crossing_cmd, with_alerts};
pub use follow::Follower;
pub use list::{Alert, AlertList, LowStock, LowStockList, alert_slots, list_alerts, low_stock, read_since};
pub use rules::{AlertRules, get_rules, set_rules};
