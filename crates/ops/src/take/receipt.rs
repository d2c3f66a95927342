//! What a take decided, as an [`Outcome`], and the [`Receipt`] an idempotent request stores:
//! both with the encodings the script and the stored hash share, so a replay renders the
//! same answer as the first call.

use super::super::idempotency::field;
use super::super::level::Allocation;
use crate::convert;
use crate::domain::Timestamp;
use crate::domain::{CartItems, Location, RecordId};
use crate::error::{Capped, Error, SaleWindow, Shortage, StoreError};
use crate::outcome::{CallOutcome, Effort};
use std::collections::HashMap;

/// The decision, in cart order, before any wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Taken: `available` left after each line.
    Taken(Vec<i64>),
    /// Line `i` (0-based) names a SKU that does not exist.
    UnknownSku(usize),
    /// Line `i` (0-based) is pinned to a location its SKU does not have.
    UnknownLocation(usize),
    /// These lines (0-based) are short, with what was available.
    Short(Vec<(usize, i64)>),
    /// Line `i`'s SKU is not on sale at Redis's `now` (ms).
    NotOnSale(usize, SaleWindow, i64),
    /// Line `i` would pass its SKU's per-customer limit: what it counts, the limit, and
    /// what the customer already has.
    OverLimit(usize, Capped, i64, i64),
    /// Line `i`'s SKU has a waiting room, and the request had no admission for it: `true`
    /// when it presented one (for another customer or SKU, or expired).
    NotAdmitted(usize, bool),
}

impl Outcome {
    /// The tag the script and the stored receipt use: `ok`, or the refusal's error code.
    fn tag(&self) -> &'static str {
        match self {
            Self::Taken(_) => "ok",
            Self::UnknownSku(_) => "unknown_sku",
            Self::UnknownLocation(_) => "unknown_location",
            Self::Short(_) => "insufficient_stock",
            Self::NotOnSale(..) => "not_on_sale",
            Self::OverLimit(..) => "limit_exceeded",
            Self::NotAdmitted(_, false) => "admission_required",
            Self::NotAdmitted(_, true) => "admission_invalid",
        }
    }

    /// The tag and numbers both the script and the stored receipt use (1-based lines).
    pub(super) fn encode(&self) -> (&'static str, Vec<i64>) {
        let nums = match self {
            Self::Taken(left) => left.clone(),
            Self::UnknownSku(i) | Self::UnknownLocation(i) | Self::NotAdmitted(i, _) => vec![convert::i64_of(*i) + 1],
            Self::Short(lines) => lines.iter().flat_map(|(i, a)| [convert::i64_of(*i) + 1, *a]).collect(),
            Self::NotOnSale(i, window, now) => {
                let (closed, at) = match window {
                    SaleWindow::NotOpen(at) => (0, at),
                    SaleWindow::Closed(at) => (1, at),
                };
                vec![convert::i64_of(*i) + 1, closed, at.millis(), *now]
            }
            Self::OverLimit(i, capped, limit, already) => {
                let holds = i64::from(*capped == Capped::ActiveHolds);
                vec![convert::i64_of(*i) + 1, holds, *limit, *already]
            }
        };
        (self.tag(), nums)
    }

    /// How the call is reported: taken is a commit, anything else a refusal by its code.
    pub(crate) fn call_outcome(&self) -> CallOutcome {
        match self {
            Self::Taken(_) => CallOutcome::Committed,
            refused => CallOutcome::Rejected(refused.tag()),
        }
    }

    /// This outcome of a take of some of a cart's lines, in the whole cart's numbering:
    /// line `k` of the take is line `lines[k]` of the cart. For a refusal; what `Taken`
    /// left is kept in the take's order (the saga places each number itself).
    pub(crate) fn in_cart(self, lines: &[usize]) -> Self {
        match self {
            Self::Taken(left) => Self::Taken(left),
            Self::UnknownSku(k) => Self::UnknownSku(lines[k]),
            Self::UnknownLocation(k) => Self::UnknownLocation(lines[k]),
            Self::Short(short) => Self::Short(short.into_iter().map(|(k, a)| (lines[k], a)).collect()),
            Self::NotOnSale(k, window, now) => Self::NotOnSale(lines[k], window, now),
            Self::OverLimit(k, capped, limit, already) => Self::OverLimit(lines[k], capped, limit, already),
            Self::NotAdmitted(k, presented) => Self::NotAdmitted(lines[k], presented),
        }
    }

    pub(super) fn decode(tag: &str, nums: &[i64], lines: usize) -> Result<Self, StoreError> {
        let bad =
            || StoreError::Protocol(format!("take outcome {tag} {nums:?} does not fit a {lines}-line cart").into());
        let index = |i: i64| usize::try_from(i - 1).ok().filter(|i| *i < lines).ok_or_else(bad);
        match tag {
            "ok" if nums.len() == lines => Ok(Self::Taken(nums.to_vec())),
            "unknown_sku" if nums.len() == 1 => Ok(Self::UnknownSku(index(nums[0])?)),
            "unknown_location" if nums.len() == 1 => Ok(Self::UnknownLocation(index(nums[0])?)),
            "admission_required" if nums.len() == 1 => Ok(Self::NotAdmitted(index(nums[0])?, false)),
            "admission_invalid" if nums.len() == 1 => Ok(Self::NotAdmitted(index(nums[0])?, true)),
            "insufficient_stock" if !nums.is_empty() && nums.len().is_multiple_of(2) => Ok(Self::Short(
                nums.chunks(2)
                    .map(|c| Ok((index(c[0])?, c[1])))
                    .collect::<Result<_, StoreError>>()?,
            )),
            "not_on_sale" if nums.len() == 4 => {
                let at = Timestamp::from_millis(nums[2]).ok_or_else(bad)?;
                let window = match nums[1] {
                    0 => SaleWindow::NotOpen(at),
                    _ => SaleWindow::Closed(at),
                };
                Ok(Self::NotOnSale(index(nums[0])?, window, nums[3]))
            }
            "limit_exceeded" if nums.len() == 4 => {
                let capped = match nums[1] {
                    0 => Capped::Units,
                    _ => Capped::ActiveHolds,
                };
                Ok(Self::OverLimit(index(nums[0])?, capped, nums[2], nums[3]))
            }
            _ => Err(bad()),
        }
    }
}

/// What a take ended as: the stored answer of an idempotent request, and what every answer
/// is rendered from, so a replay renders the same body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Receipt {
    /// The order or reservation created (or that would have been).
    pub reference: RecordId,
    /// The reservation's deadline (0 for orders).
    pub expires_at: i64,
    pub outcome: Outcome,
    pub effort: Effort,
    /// Where each line's units came from, when taken (empty otherwise).
    pub drawn: Vec<Vec<Allocation>>,
}

impl Receipt {
    pub(crate) fn fields(&self) -> Vec<(&'static str, String)> {
        let (tag, nums) = self.outcome.encode();
        let nums: Vec<String> = nums.iter().map(i64::to_string).collect();
        vec![
            ("ref", self.reference.to_string()),
            ("exp", self.expires_at.to_string()),
            ("tag", tag.to_owned()),
            ("nums", nums.join(",")),
            ("attempts", self.effort.attempts.to_string()),
            ("conflicts", self.effort.conflicts.to_string()),
            ("alloc", Allocation::encode(&self.drawn)),
        ]
    }

    /// The lines' allocations from their compact form, for a taken outcome (none otherwise).
    pub(super) fn drawn_of(
        outcome: &Outcome,
        text: &str,
        quantities: &[i64],
    ) -> Result<Vec<Vec<Allocation>>, StoreError> {
        match outcome {
            Outcome::Taken(_) => Allocation::decode(text, quantities),
            _ => Ok(Vec::new()),
        }
    }

    /// Reads a stored receipt back. `like` is the record the current call would write: the
    /// stored one is of the same kind.
    pub(crate) fn from_fields(
        fields: &HashMap<String, String>,
        quantities: &[i64],
        like: RecordId,
    ) -> Result<Self, StoreError> {
        let lines = quantities.len();
        let num = |name: &str| {
            field(fields, name)?
                .parse::<i64>()
                .map_err(|_| StoreError::Protocol(format!("stored {name} is not a number").into()))
        };
        let nums = field(fields, "nums")?;
        let nums: Vec<i64> = nums
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| StoreError::Protocol("stored nums are not numbers".into()))?;
        let outcome = Outcome::decode(field(fields, "tag")?, &nums, lines)?;
        Ok(Self {
            reference: like
                .parse_like(field(fields, "ref")?)
                .ok_or_else(|| StoreError::Protocol("stored ref is not an id of ours".into()))?,
            expires_at: num("exp")?,
            // Answers stored before locations existed have no `alloc`: all from `default`.
            drawn: Self::drawn_of(&outcome, fields.get("alloc").map_or("", String::as_str), quantities)?,
            outcome,
            effort: Effort {
                attempts: convert::u32_of(num("attempts")?),
                conflicts: convert::u32_of(num("conflicts")?),
            },
        })
    }
}

/// A take that went through: what each line left, and the ids to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Taken {
    /// The order or reservation.
    pub reference: RecordId,
    /// The reservation's deadline (0 for orders).
    pub expires_at: i64,
    /// `available` after each line, in cart order.
    pub remaining: Vec<i64>,
    pub effort: Effort,
    /// Where each line's units came from, in cart order.
    pub drawn: Vec<Vec<Allocation>>,
}

impl Receipt {
    /// The answer this receipt stands for: taken, or the refusal naming the lines.
    pub(crate) fn into_taken(self, items: &CartItems) -> Result<Taken, Error> {
        let lines = items.lines();
        match self.outcome {
            Outcome::Taken(remaining) => Ok(Taken {
                reference: self.reference,
                expires_at: self.expires_at,
                remaining,
                effort: self.effort,
                drawn: if self.drawn.len() == lines.len() {
                    self.drawn
                } else {
                    lines
                        .iter()
                        .map(|l| Allocation::all_default(l.quantity.get()))
                        .collect()
                },
            }),
            Outcome::UnknownSku(i) => Err(Error::unknown_sku(&lines[i].sku)),
            // Only a line pinned to a location can name one its SKU lacks.
            Outcome::UnknownLocation(i) => Err(Error::UnknownLocation {
                sku: lines[i].sku.clone(),
                location: lines[i].location.clone().unwrap_or_else(Location::default_location),
            }),
            Outcome::Short(short) => Err(Error::InsufficientStock {
                items: short
                    .into_iter()
                    .map(|(i, available)| Shortage {
                        sku: lines[i].sku.clone(),
                        available,
                        requested: lines[i].quantity.get(),
                    })
                    .collect(),
                attempts: self.effort.attempts,
            }),
            Outcome::NotOnSale(i, window, now) => Err(Error::NotOnSale {
                sku: lines[i].sku.clone(),
                window,
                retry_after_s: match window {
                    // Whole seconds, rounded up: a client that waits this long finds it open.
                    SaleWindow::NotOpen(at) => convert::u64_of(((at.millis() - now).max(1) + 999) / 1000),
                    SaleWindow::Closed(_) => 0,
                },
            }),
            Outcome::OverLimit(i, counts, limit, already) => Err(Error::LimitExceeded {
                sku: lines[i].sku.clone(),
                limit,
                already,
                requested: match counts {
                    Capped::Units => lines[i].quantity.get(),
                    Capped::ActiveHolds => 1,
                },
                counts,
            }),
            Outcome::NotAdmitted(i, false) => Err(Error::AdmissionRequired {
                sku: lines[i].sku.clone(),
            }),
            Outcome::NotAdmitted(i, true) => Err(Error::AdmissionInvalid {
                sku: lines[i].sku.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_their_encoding() {
        for outcome in [
            Outcome::Taken(vec![3, 0]),
            Outcome::UnknownSku(1),
            Outcome::UnknownLocation(0),
            Outcome::Short(vec![(0, 2), (1, -1)]),
            Outcome::NotOnSale(1, SaleWindow::NotOpen(Timestamp::from_millis(5_000).unwrap()), 1_200),
            Outcome::NotOnSale(0, SaleWindow::Closed(Timestamp::from_millis(5_000).unwrap()), 9_000),
            Outcome::OverLimit(1, Capped::Units, 2, 1),
            Outcome::OverLimit(0, Capped::ActiveHolds, 1, 1),
            Outcome::NotAdmitted(1, false),
            Outcome::NotAdmitted(0, true),
        ] {
            let (tag, nums) = outcome.encode();
            assert_eq!(Outcome::decode(tag, &nums, 2).unwrap(), outcome);
        }
        assert!(Outcome::decode("unknown_sku", &[3], 2).is_err(), "line out of range");
        assert!(Outcome::decode("ok", &[1], 2).is_err(), "one number per line");
        assert!(Outcome::decode("what", &[], 2).is_err());
    }

    #[test]
    fn a_part_refusal_names_the_whole_cart_lines_and_its_code() {
        // A saga's part took cart lines 1 and 3: its line 0 is the cart's 1, its 1 the cart's 3.
        let part = [1, 3];
        assert_eq!(
            Outcome::Short(vec![(1, 0)]).in_cart(&part),
            Outcome::Short(vec![(3, 0)])
        );
        assert_eq!(Outcome::UnknownSku(0).in_cart(&part), Outcome::UnknownSku(1));
        assert_eq!(Outcome::UnknownLocation(1).in_cart(&part), Outcome::UnknownLocation(3));
        assert_eq!(Outcome::Taken(vec![4, 5]).call_outcome(), CallOutcome::Committed);
        for (outcome, code) in [
            (Outcome::UnknownSku(0), "unknown_sku"),
            (Outcome::UnknownLocation(0), "unknown_location"),
            (Outcome::Short(vec![(0, 1)]), "insufficient_stock"),
        ] {
            assert_eq!(outcome.call_outcome(), CallOutcome::Rejected(code));
        }
    }
}
