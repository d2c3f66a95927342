//! How many units of a line came from each location: stored with order and reservation
//! lines (`super::OrderLine`), answered with every take, and kept in the ledger.

use crate::domain::{Location, PoRef};
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
    /// A preorder's: the purchase order its units wait for (v1.5). They are sold (or held)
    /// but not received yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub purchase_order: Option<PoRef>,
    /// A preorder's place in its purchase order's queue: the units preordered on that
    /// order before it. Receipts fill the queue in this order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
}

impl Allocation {
    /// `quantity` units from the shelf at `location`.
    pub fn at(location: Location, quantity: i64) -> Self {
        Self {
            location,
            quantity,
            purchase_order: None,
            position: None,
        }
    }

    /// `quantity` units preordered at `location` on purchase order `reference`, at
    /// `position` in its queue.
    pub fn preorder(location: Location, quantity: i64, reference: PoRef, position: i64) -> Self {
        Self {
            location,
            quantity,
            purchase_order: Some(reference),
            position: Some(position),
        }
    }

    /// A whole line from the implicit location: what a line without stored allocations means.
    pub fn all_default(quantity: i64) -> Vec<Self> {
        vec![Self::at(Location::default_location(), quantity)]
    }

    /// The purchase order a line drawn as `drawn` waits for, when it is a preorder.
    pub fn preorder_of(drawn: &[Self]) -> Option<&PoRef> {
        drawn.iter().find_map(|a| a.purchase_order.as_ref())
    }

    /// Whether `drawn` is a whole line from `default`, which is stored as nothing at all.
    pub fn is_all_default(drawn: &[Self]) -> bool {
        drawn
            .iter()
            .all(|a| a.location.is_default() && a.purchase_order.is_none())
    }

    /// The compact form a script returns and an idempotent answer stores: `east=3,west=2`
    /// per line (empty: all from `default`), lines joined by `;`; a preorder's part is
    /// `LOCATION=QUANTITY@REF:POSITION`.
    pub fn encode(lines: &[Vec<Self>]) -> String {
        let line = |drawn: &Vec<Self>| {
            if Self::is_all_default(drawn) {
                return String::new();
            }
            let parts: Vec<String> = drawn
                .iter()
                .map(|a| match (&a.purchase_order, a.position) {
                    (Some(r), Some(at)) => format!("{}={}@{r}:{at}", a.location, a.quantity),
                    _ => format!("{}={}", a.location, a.quantity),
                })
                .collect();
            parts.join(",")
        };
        lines.iter().map(line).collect::<Vec<_>>().join(";")
    }

    /// Reads [`Self::encode`]'s form back for lines of `quantities`; an empty line (or an
    /// empty string, as an answer stored before locations existed) is all from `default`.
    pub fn decode(text: &str, quantities: &[i64]) -> Result<Vec<Vec<Self>>, StoreError> {
        let bad = || StoreError::Protocol(format!("allocations {text:?} do not fit {} lines", quantities.len()).into());
        if text.is_empty() {
            return Ok(quantities.iter().map(|&q| Self::all_default(q)).collect());
        }
        if text.split(';').count() != quantities.len() {
            return Err(bad());
        }
        text.split(';')
            .zip(quantities)
            .map(|(line, &q)| {
                if line.is_empty() {
                    return Ok(Self::all_default(q));
                }
                line.split(',')
                    .map(|part| {
                        let (location, n) = part.split_once('=').ok_or_else(bad)?;
                        let location = Location::parse(location, "location").map_err(|_| bad())?;
                        let Some((n, queued)) = n.split_once('@') else {
                            return Ok(Self::at(location, n.parse().map_err(|_| bad())?));
                        };
                        let (reference, at) = queued.split_once(':').ok_or_else(bad)?;
                        Ok(Self::preorder(
                            location,
                            n.parse().map_err(|_| bad())?,
                            PoRef::parse(reference, "ref").map_err(|_| bad())?,
                            at.parse().map_err(|_| bad())?,
                        ))
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
            .map(|(l, q)| Self::at(Location::parse(l, "location").expect("a test location"), *q))
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
        let po = PoRef::parse("PO-7", "ref").unwrap();
        let preorder = vec![vec![Allocation::preorder(Location::default_location(), 2, po, 5)]];
        let text = Allocation::encode(&preorder);
        assert_eq!(text, "default=2@PO-7:5");
        assert_eq!(Allocation::decode(&text, &[2]).unwrap(), preorder);
        assert!(Allocation::decode("a=1;b=1", &[1]).is_err());
    }
}
