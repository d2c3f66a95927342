//! How many units of a line came from each location: stored with order and reservation
//! lines (`super::OrderLine`), answered with every take, and kept in the ledger.

use crate::domain::Location;
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

/// How many units of a line came from one location: stored with order and reservation
/// lines, so a cancel or an expiry returns each unit where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Allocation {
    /// The location.
    pub location: Location,
    /// Units drawn from it.
    pub quantity: i64,
}

impl Allocation {
    /// A whole line from the implicit location: what a line without stored allocations means.
    pub fn all_default(quantity: i64) -> Vec<Self> {
        vec![Self {
            location: Location::default_location(),
            quantity,
        }]
    }

    /// Whether `drawn` is a whole line from `default`, which is stored as nothing at all.
    pub fn is_all_default(drawn: &[Self]) -> bool {
        drawn.iter().all(|a| a.location.is_default())
    }

    /// The compact form a script returns and an idempotent answer stores: `east=3,west=2`
    /// per line (empty: all from `default`), lines joined by `;`.
    pub fn encode(lines: &[Vec<Self>]) -> String {
        let line = |drawn: &Vec<Self>| {
            if Self::is_all_default(drawn) {
                return String::new();
            }
            let parts: Vec<String> = drawn.iter().map(|a| format!("{}={}", a.location, a.quantity)).collect();
            parts.join(",")
        };
        lines.iter().map(line).collect::<Vec<_>>().join(";")
    }

    /// Reads [`Self::encode`]'s form back for lines of `quantities`; an empty line (or an
    /// empty string, as an answer stored before locations existed) is all from `default`.
    pub fn decode(text: &str, quantities: &[i64]) -> Result<Vec<Vec<Self>>, StoreError> {
        let bad = || StoreError::Protocol(format!("allocations {text:?} do not fit {} lines", quantities.len()).into());
        let lines: Vec<&str> = if text.is_empty() {
            vec![""; quantities.len()]
        } else {
            text.split(';').collect()
        };
        if lines.len() != quantities.len() {
            return Err(bad());
        }
        lines
            .iter()
            .zip(quantities)
            .map(|(line, &q)| {
                if line.is_empty() {
                    return Ok(Self::all_default(q));
                }
                line.split(',')
                    .map(|part| {
                        let (location, n) = part.split_once('=').ok_or_else(bad)?;
                        let quantity = n.parse().map_err(|_| bad())?;
                        Ok(Self {
                            location: Location::parse(location, "location").map_err(|_| bad())?,
                            quantity,
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
impl Allocation {
    /// `[(location, quantity)]` as allocations, for tests.
    pub(crate) fn list(pairs: &[(&str, i64)]) -> Vec<Self> {
        pairs
            .iter()
            .map(|(l, q)| Self {
                location: Location::parse(l, "location").expect("a test location"),
                quantity: *q,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(pairs: &[(&str, i64)]) -> Vec<Allocation> {
        Allocation::list(pairs)
    }

    #[test]
    fn allocations_round_trip_through_their_compact_form() {
        let lines = vec![alloc(&[("east", 3), ("west", 2)]), Allocation::all_default(4)];
        let text = Allocation::encode(&lines);
        assert_eq!(text, "east=3,west=2;");
        assert_eq!(Allocation::decode(&text, &[5, 4]).unwrap(), lines);
        assert_eq!(Allocation::decode("", &[1, 2]).unwrap()[1], Allocation::all_default(2));
        assert!(Allocation::decode("east=x", &[1]).is_err());
        assert!(Allocation::decode("a=1;b=1", &[1]).is_err());
    }
}
