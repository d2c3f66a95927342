//! Who got the units when the buyers are customers sending many requests each (bots):
//! `bench --customers`.

use serde::Serialize;

/// Who got the units, when buyers are customers sending many requests each.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Customers {
    /// Customers in the workload.
    pub customers: u64,
    /// Customers who got at least one unit.
    pub served: u64,
    /// The most units any one customer got.
    pub most_units: u64,
}

impl Customers {
    /// From the customer of each success and the units each success took.
    pub(super) fn of(customers: u64, wins: &[u64], units_per_win: u64) -> Option<Self> {
        if customers == 0 {
            return None;
        }
        let mut got: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
        for c in wins {
            *got.entry(*c).or_default() += units_per_win;
        }
        Some(Self {
            customers,
            served: crate::convert::u64_of(crate::convert::i64_of(got.len())),
            most_units: got.values().copied().max().unwrap_or(0),
        })
    }
}
