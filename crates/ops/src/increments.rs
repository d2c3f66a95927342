//! The writes that move a SKU's counters (`available`, `reserved`, `sold`, …) by
//! increments, in its totals and at each named location: one move's ([`shift`]), or the
//! moves of every take in one MULTI merged into one `HINCRBY` per key and field
//! ([`Increments`]).
//!
//! Merging is sound because an increment commutes with every other write a take queues:
//! nothing in the MULTI reads these fields, except the alert check of a SKU with alert
//! rules, whose lines therefore keep their own writes, in place (`Take::writes`).

use crate::level::{Allocation, field_at};
use redis::Cmd;
use std::borrow::Cow;
use std::collections::HashMap;

/// The writes that move `drawn` from counter `from` to counter `to` (`None` on either side:
/// units entering or leaving the SKU) in the totals and at each named location.
pub(crate) fn shift(key: &str, drawn: &[Allocation], from: Option<&str>, to: Option<&str>) -> Vec<Cmd> {
    let mut moves = Increments::default();
    moves.shift(key, drawn, from, to);
    moves.cmds()
}

/// Up to this many moves, one is found by a scan; past it, by `Increments::at`.
const SCAN: usize = 16;

/// Counter moves gathered from many takes, written as one `HINCRBY` per stock key and
/// field: a batch of fifty buyers of one SKU writes two increments, not a hundred.
#[derive(Debug, Default)]
pub(crate) struct Increments<'a> {
    /// Each key and field with its net change, in order of first use.
    moves: Vec<(&'a str, Cow<'a, str>, i64)>,
    /// Where each key and field is in `moves`, once there are more than [`SCAN`]: a flat
    /// batch moves hundreds of SKUs.
    at: HashMap<(&'a str, Cow<'a, str>), usize>,
}

impl<'a> Increments<'a> {
    /// Adds the moves of `drawn` from `from` to `to` in the stock hash `key` (see [`shift`]).
    pub(crate) fn shift(&mut self, key: &'a str, drawn: &[Allocation], from: Option<&'a str>, to: Option<&'a str>) {
        let total: i64 = drawn.iter().map(|a| a.quantity).sum();
        if let Some(from) = from {
            self.add(key, Cow::Borrowed(from), -total);
        }
        if let Some(to) = to {
            self.add(key, Cow::Borrowed(to), total);
        }
        for a in drawn {
            if let Some(from) = from.and_then(|f| field_at(f, a.location.as_str())) {
                self.add(key, Cow::Owned(from), -a.quantity);
            }
            if let Some(to) = to.and_then(|t| field_at(t, a.location.as_str())) {
                self.add(key, Cow::Owned(to), a.quantity);
            }
        }
    }

    fn add(&mut self, key: &'a str, field: Cow<'a, str>, by: i64) {
        // A few moves (a hot SKU's batch) are found faster by a scan than by hashing.
        let found = match self.moves.len() <= SCAN {
            true => self.moves.iter().position(|(k, f, _)| *k == key && *f == field),
            false => {
                if self.at.is_empty() {
                    let listed = self.moves.iter().enumerate();
                    self.at = listed.map(|(i, (k, f, _))| ((*k, f.clone()), i)).collect();
                }
                self.at.get(&(key, field.clone())).copied()
            }
        };
        match found {
            Some(i) => self.moves[i].2 += by,
            None => {
                if !self.at.is_empty() {
                    self.at.insert((key, field.clone()), self.moves.len());
                }
                self.moves.push((key, field, by));
            }
        }
    }

    /// One `HINCRBY` per key and field, in order of first use. A net change of zero is
    /// still written: `HINCRBY … 0` creates a missing field, as the moves one by one would.
    pub(crate) fn cmds(self) -> Vec<Cmd> {
        self.moves
            .into_iter()
            .map(|(key, field, by)| {
                let mut cmd = redis::cmd("HINCRBY");
                cmd.arg(key).arg(field.as_ref()).arg(by);
                cmd
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

    fn text(cmds: &[Cmd]) -> Vec<String> {
        cmds.iter()
            .map(|c| String::from_utf8_lossy(&c.get_packed_command()).replace("\r\n", " "))
            .collect()
    }

    #[test]
    fn moves_of_many_takes_merge_per_key_and_field_in_order_of_first_use() {
        let mut moves = Increments::default();
        moves.shift("a", &alloc(&[("default", 1)]), Some("available"), Some("sold"));
        moves.shift("b", &alloc(&[("east", 2)]), Some("available"), Some("sold"));
        moves.shift("a", &alloc(&[("default", 3)]), Some("available"), Some("sold"));
        moves.shift(
            "b",
            &alloc(&[("east", 1), ("west", 4)]),
            Some("available"),
            Some("sold"),
        );
        let got = text(&moves.cmds());
        let want: Vec<String> = [
            ("a", "available", -4),
            ("a", "sold", 4),
            ("b", "available", -7),
            ("b", "sold", 7),
            ("b", "available@east", -3),
            ("b", "sold@east", 3),
            ("b", "available@west", -4),
            ("b", "sold@west", 4),
        ]
        .iter()
        .map(|(k, f, n)| text(&[redis::cmd("HINCRBY").arg(*k).arg(*f).arg(*n).clone()]).remove(0))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn many_skus_merge_as_a_few_do() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let mut moves = Increments::default();
        for round in 1..=3 {
            for key in &keys {
                moves.shift(key, &alloc(&[("default", round)]), Some("available"), Some("sold"));
            }
        }
        let got = text(&moves.cmds());
        assert_eq!(got.len(), 80, "one write per key and field");
        let first = text(&[redis::cmd("HINCRBY").arg("k0").arg("available").arg(-6).clone()]);
        let last = text(&[redis::cmd("HINCRBY").arg("k39").arg("sold").arg(6).clone()]);
        assert_eq!((&got[0], &got[79]), (&first[0], &last[0]));
    }

    #[test]
    fn a_shift_moves_totals_and_named_locations_only() {
        let writes = shift(
            "k",
            &alloc(&[("default", 1), ("east", 2)]),
            Some("available"),
            Some("sold"),
        );
        let text = text(&writes);
        assert_eq!(writes.len(), 4, "{text:?}");
        assert!(text[0].contains("available") && text[0].contains("-3"));
        assert!(text.iter().any(|t| t.contains("sold@east")));
        assert!(!text.iter().any(|t| t.contains("@default")));
    }
}
