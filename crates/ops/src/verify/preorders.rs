//! `verify`'s rule for preorder queues: each purchase order's queue holds exactly the
//! preorders of live records (orders not cancelled, active holds) still waiting on it.
//! A queue entry no record holds would fill units nobody bought; a record's waiting units
//! missing from the queue would never be filled.

use super::Violation;
use crate::OrderLine;
use crate::level::Level;
use std::collections::{HashMap, HashSet};

/// Per SKU and purchase order, the preorders live records hold: (position, units).
#[derive(Default)]
pub(super) struct Queued(HashMap<(String, String), HashSet<(i64, i64)>>);

impl Queued {
    /// A live record's line.
    pub(super) fn line(&mut self, line: &OrderLine) {
        for a in &line.allocations {
            if let (Some(reference), Some(position)) = (&a.purchase_order, a.position) {
                let key = (line.sku.to_string(), reference.to_string());
                self.0.entry(key).or_default().insert((position, a.quantity));
            }
        }
    }

    /// Checks one SKU's purchase orders against the records read.
    pub(super) fn check(&mut self, sku: &str, level: &Level, violations: &mut Vec<Violation>) {
        for order in &level.orders {
            let held = self
                .0
                .remove(&(sku.to_owned(), order.reference.to_string()))
                .unwrap_or_default();
            let mut broken = |rule: &'static str, message: String| {
                violations.push(Violation {
                    rule,
                    sku: Some(sku.to_owned()),
                    message,
                })
            };
            for &(position, units) in &order.queue {
                if !held.contains(&(position, units)) {
                    broken(
                        "preorder_orphaned",
                        format!(
                            "purchase order {} queues {units} units at {position} that no order or hold has",
                            order.reference
                        ),
                    );
                }
            }
            for &(position, units) in &held {
                let queued = order.queue.contains(&(position, units));
                if !queued && order.waiting_in(position, units) > 0 {
                    broken(
                        "preorder_lost",
                        format!(
                            "a preorder of {units} units at {position} waits for purchase order {} but is not in its queue",
                            order.reference
                        ),
                    );
                }
            }
        }
    }
}
