//! A SKU's movements: every stock change, written in the same MULTI or script as the change.
//!
//! Where they live, and why (memory at rest is the catalog's budget):
//! - The movement that creates a SKU is a field of its stock hash, `born`, when its entry
//!   fits in a listpack value (64 bytes; it nearly always does). A SKU that never moves
//!   again costs no other key. A longer one goes to the list, and `born` is `-`.
//! - Every later movement is pushed to the head of the SKU's history list (`LPUSH`, then
//!   `LTRIM` to `--movements-maxlen`) and counted in the hash's `moved` field. A small list
//!   is a listpack whose size follows its entries; a stream's first node would reserve
//!   `stream-node-max-bytes` (4 KB) for one entry.
//! - An entry is one line of text, `KIND QUANTITY REF AT[ location=L][ to=T][ reason=R][ po=REF]`
//!   (every part is from an alphabet without spaces). `take.lua` writes the same format.
//! - A movement's id is `AT-SEQ`, SEQ its number among the SKU's movements (the creation
//!   is 1): the list's newest entry is number `moved` (+1 with `born`), and each older one
//!   counts down, so ids are stable and need no write of their own.

use crate::Inventory;
use crate::Reason;
use crate::domain::EntryKind;
use crate::domain::{Limit, Location, Reference, Sku};
use crate::error::{Error, StoreError};
use crate::store::Store;
use redis::Cmd;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// One stock change, as recorded in the same MULTI or script as the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Movement {
    /// `AT-SEQ`: when, and its number among the SKU's movements (1 is the creation).
    /// Unique per SKU; a later movement has a larger SEQ.
    pub id: String,
    /// `set`, `restock`, `purchase`, `checkout`, `reserve`, `confirm`, `cancel`, `expire`,
    /// `transfer` or `adjust`; since v1.5 also `cancel_order`, `return`, `damage`, `restore`,
    /// `write_off`, `expect`, `receive` and `fill`.
    #[schema(value_type = String)]
    pub kind: EntryKind,
    /// Units moved; for `set` and `adjust`, the difference it made to `available` (may be
    /// negative).
    pub quantity: i64,
    /// The order or reservation it belongs to (`admin` for set and restock).
    #[serde(rename = "ref")]
    #[schema(value_type = String)]
    pub reference: Reference,
    /// When, epoch ms.
    pub at: i64,
    /// The named location a stockroom change (`set`, `restock`, `adjust`) applied to, or
    /// that a `transfer` left.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Location>,
    /// Where a `transfer` went.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub to: Option<Location>,
    /// Why an adjustment was made: `cycle_count`, `damaged`, `lost`, `found` or `inspected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reason: Option<Reason>,
    /// The purchase order an `expect`, `receive` or `fill` belongs to, or a preorder's sale
    /// or hold waits for (v1.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub purchase_order: Option<crate::domain::PoRef>,
}

/// The `200` body of `GET /v1/skus/{sku}/movements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Movements {
    /// The SKU.
    pub sku: Sku,
    /// Newest first.
    pub movements: Vec<Movement>,
}

/// The stock-hash field holding the creating movement.
pub(crate) const BORN: &str = "born";
/// The stock-hash field counting the movements pushed to the history list.
pub(crate) const MOVED: &str = "moved";
/// `born` when the creation went to the list instead.
pub(crate) const BORN_IN_LIST: &str = "-";
/// The longest value that keeps a hash a listpack under Redis's default
/// `hash-max-listpack-value`; a longer `born` would make the whole hash a hashtable.
const BORN_MAX: usize = 64;

/// One entry's text (the format in the module's doc). `extra` are `(name, value)` pairs:
/// `location`, `to`, `reason`.
fn encode(kind: EntryKind, quantity: i64, reference: Reference, at_ms: i64, extra: &[(&str, &str)]) -> String {
    let mut entry = String::with_capacity(64);
    let _ = write!(entry, "{} {quantity} {reference} {at_ms}", kind.as_str());
    for (name, value) in extra {
        let _ = write!(entry, " {name}={value}");
    }
    entry
}

/// The writes recording one movement: pushed to the history list, trimmed, counted.
pub(crate) fn record_cmds(
    store: &Inventory,
    sku: &Sku,
    kind: EntryKind,
    quantity: i64,
    reference: Reference,
    at_ms: i64,
    extra: &[(&str, &str)],
) -> Vec<Cmd> {
    let mut log = MovementLog::default();
    log.record(sku, kind, quantity, reference, at_ms, extra);
    log.cmds(store)
}

/// The movements of one MULTI, written at its end once per history list: one `LPUSH` of
/// all its entries (in order), one `HINCRBY` of `moved`, and an `LTRIM` unless the list is
/// known to stay under the cap. A group commit of fifty buyers of one SKU then writes two or
/// three commands for its movements, not a hundred fifty.
#[derive(Debug, Default)]
pub(crate) struct MovementLog {
    /// Per SKU, in first-movement order: `moved` as read under WATCH (when known), and the
    /// entries.
    lists: Vec<(Sku, Option<i64>, Vec<String>)>,
    /// Where each SKU's list is in `lists`: a flat batch names up to hundreds of SKUs.
    at: HashMap<Sku, usize>,
}

impl MovementLog {
    /// Adds a movement of `sku` by a take: its line's `quantity`, by `reference`, at `at_ms`.
    /// `moved`: the SKU's `moved` as this MULTI's WATCH read it, if it did.
    pub(crate) fn take(
        &mut self,
        sku: &Sku,
        kind: EntryKind,
        quantity: i64,
        reference: Reference,
        at_ms: i64,
        moved: Option<i64>,
    ) {
        self.push(sku, encode(kind, quantity, reference, at_ms, &[]), moved);
    }

    /// Adds a movement of `sku` with its `extra` fields (`location`, `to`, `reason`), where
    /// the SKU's `moved` was not read.
    pub(crate) fn record(
        &mut self,
        sku: &Sku,
        kind: EntryKind,
        quantity: i64,
        reference: Reference,
        at_ms: i64,
        extra: &[(&str, &str)],
    ) {
        self.push(sku, encode(kind, quantity, reference, at_ms, extra), None);
    }

    fn push(&mut self, sku: &Sku, entry: String, moved: Option<i64>) {
        match self.at.get(sku) {
            Some(&i) => self.lists[i].2.push(entry),
            None => {
                self.at.insert(sku.clone(), self.lists.len());
                self.lists.push((sku.clone(), moved, vec![entry]));
            }
        }
    }

    /// The writes, two or three per history list.
    pub(crate) fn cmds(self, store: &Inventory) -> Vec<Cmd> {
        let cap = store.config().movements_maxlen.max(1);
        let mut cmds = Vec::with_capacity(self.lists.len() * 3);
        for (sku, moved, entries) in self.lists {
            let list = store.keys().movements(&sku);
            let pushed = entries.len();
            // The list holds at most `moved` entries (each push counts one), so this many
            // more cannot take it past the cap.
            let under_cap = moved
                .and_then(|m| usize::try_from(m).ok())
                .is_some_and(|m| m.saturating_add(pushed) <= cap);
            // Built in place: `.arg(..).to_owned()` would copy every entry once more.
            let mut lpush = redis::cmd("LPUSH");
            lpush.arg(&list).arg(entries);
            cmds.push(lpush);
            if !under_cap {
                let mut ltrim = redis::cmd("LTRIM");
                ltrim.arg(&list).arg(0).arg(cap - 1);
                cmds.push(ltrim);
            }
            let mut moved = redis::cmd("HINCRBY");
            moved.arg(store.keys().stock(&sku)).arg(MOVED).arg(pushed);
            cmds.push(moved);
        }
        cmds
    }
}

/// The movement that creates a SKU as its `born` field, when the entry fits there
/// (`None`: it goes to the list like any other, and `born` says so).
pub(crate) fn born_entry(kind: EntryKind, quantity: i64, at_ms: i64, extra: &[(&str, &str)]) -> Option<String> {
    Some(encode(kind, quantity, Reference::Admin, at_ms, extra)).filter(|entry| entry.len() <= BORN_MAX)
}

/// Reads one entry back; `seq` is its number among the SKU's movements.
fn decode(entry: &str, seq: i64) -> Result<Movement, StoreError> {
    let bad = |what: &str| StoreError::Protocol(format!("movement {seq} ({entry:?}): {what}").into());
    let mut parts = entry.split(' ');
    let mut next = |what: &str| parts.next().ok_or_else(|| bad(&format!("no {what}")));
    let kind = EntryKind::parse(next("kind")?).ok_or_else(|| bad("unknown kind"))?;
    let quantity = next("quantity")?.parse().map_err(|_| bad("bad quantity"))?;
    let reference = Reference::parse_for(kind, next("ref")?).ok_or_else(|| bad("bad ref"))?;
    let at: i64 = next("at")?.parse().map_err(|_| bad("bad at"))?;
    let mut movement = Movement {
        id: format!("{at}-{seq}"),
        kind,
        quantity,
        reference,
        at,
        location: None,
        to: None,
        reason: None,
        purchase_order: None,
    };
    for part in parts {
        let (name, value) = part.split_once('=').ok_or_else(|| bad("bad field"))?;
        let place = || Location::parse(value, name).map_err(|_| bad(name));
        match name {
            "location" => movement.location = Some(place()?),
            "to" => movement.to = Some(place()?),
            "reason" => movement.reason = Some(Reason::parse(value).ok_or_else(|| bad("unknown reason"))?),
            "po" => movement.purchase_order = Some(crate::domain::PoRef::parse(value, name).map_err(|_| bad(name))?),
            _ => return Err(bad("unknown field")),
        }
    }
    Ok(movement)
}

/// What a SKU's stock hash says about its history: where its creation is, and how many
/// movements were pushed to the list.
#[derive(Debug, Default, Clone)]
pub(crate) struct History {
    born: Born,
    moved: i64,
}

/// Where a SKU's creating movement is.
#[derive(Debug, Default, Clone)]
enum Born {
    /// Nowhere this layout knows of: the SKU predates it and was never converted.
    #[default]
    Unknown,
    /// In the history list, as movement 1 (too long for the field, or converted).
    InList,
    /// The `born` field holds it.
    Entry(String),
}

impl History {
    /// From the `born` and `moved` fields of the stock hash.
    pub(crate) fn from_fields(born: Option<String>, moved: Option<&str>) -> Result<Self, StoreError> {
        let moved = moved
            .map(str::parse)
            .transpose()
            .map_err(|_| StoreError::Protocol("stock hash: bad moved".into()))?;
        let born = match born {
            None => Born::Unknown,
            Some(text) if text == BORN_IN_LIST => Born::InList,
            Some(text) => Born::Entry(text),
        };
        Ok(Self {
            born,
            moved: moved.unwrap_or(0),
        })
    }

    /// Whether any movement was pushed to the list (else `born` is the whole history).
    pub(crate) fn has_list(&self) -> bool {
        self.moved > 0
    }

    /// The movements, newest first, from the list's newest `entries` and `born`. `born` is
    /// left out when the list was trimmed (`list_len` < `moved`): it is older than what fell off.
    fn movements(&self, entries: &[String], list_len: i64, limit: usize) -> Result<Vec<Movement>, StoreError> {
        let first = self.moved + i64::from(matches!(self.born, Born::Entry(_)));
        let mut out = entries
            .iter()
            .zip(0..)
            .map(|(entry, i)| decode(entry, first - i))
            .collect::<Result<Vec<_>, _>>()?;
        if let Born::Entry(born) = &self.born
            && list_len == self.moved
            && out.len() < limit
        {
            out.push(decode(born, 1)?);
        }
        Ok(out)
    }

    /// Σ of what the movements did to `received` (`set`/`restock`/`adjust` add their
    /// quantity, a write-off takes it) and to `damaged`, over `entries`, the whole list, and
    /// `born`: `None` when the list was trimmed or the SKU predates this layout, since a
    /// partial sum proves nothing.
    pub(crate) fn sums(&self, entries: &[String]) -> Result<Option<[i64; 2]>, StoreError> {
        if i64::try_from(entries.len()).ok() != Some(self.moved) || matches!(self.born, Born::Unknown) {
            return Ok(None);
        }
        let all = self.movements(entries, self.moved, usize::MAX)?;
        let sum = |per: fn(EntryKind) -> i64| all.iter().map(|m| per(m.kind) * m.quantity).sum();
        Ok(Some([sum(EntryKind::received), sum(EntryKind::damaged)]))
    }
}

/// The newest `limit` movements of a SKU. The list is capped (`--movements-maxlen`), so
/// old entries eventually fall off; the counters stay exact.
pub async fn movements(store: &Inventory, sku: &Sku, limit: Limit) -> Result<Movements, Error> {
    let list = store.keys().movements(sku);
    let mut pipe = redis::pipe();
    // One MULTI: the counter and the list are read at the same instant, so ids line up.
    pipe.atomic()
        .cmd("HMGET")
        .arg(store.keys().stock(sku))
        .arg(&["available", BORN, MOVED])
        .cmd("LRANGE")
        .arg(&list)
        .arg(0)
        .arg(limit.get() - 1)
        .cmd("LLEN")
        .arg(&list);
    let mut conn = store.shared();
    type Reply = ((Option<String>, Option<String>, Option<String>), Vec<String>, i64);
    let ((exists, born, moved), entries, len): Reply =
        Store::bounded(store.deadline(), pipe.query_async(&mut conn)).await?;
    if exists.is_none() {
        return Err(Error::unknown_sku(sku));
    }
    let history = History::from_fields(born, moved.as_deref())?;
    Ok(Movements {
        sku: sku.clone(),
        movements: history.movements(&entries, len, limit.get())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let extra = [("location", "east"), ("to", "west"), ("reason", "damaged")];
        let text = encode(EntryKind::Transfer, -3, Reference::Admin, 1_700_000_000_123, &extra);
        assert_eq!(
            text,
            "transfer -3 admin 1700000000123 location=east to=west reason=damaged"
        );
        let m = decode(&text, 7).unwrap();
        assert_eq!(m.id, "1700000000123-7");
        assert_eq!((m.kind, m.quantity, m.at), (EntryKind::Transfer, -3, 1_700_000_000_123));
        assert_eq!(m.location.unwrap().as_str(), "east");
        assert_eq!(m.to.unwrap().as_str(), "west");
        assert_eq!(m.reason, Some(Reason::Damaged));
        assert!(decode("transfer -3 admin 17 colour=red", 1).is_err());
        assert!(decode("teleport 1 admin 17", 1).is_err());
        assert!(decode("set x admin 17", 1).is_err());
    }

    #[test]
    fn ids_count_down_from_the_newest_and_born_is_one() {
        let set = encode(EntryKind::Set, 5, Reference::Admin, 10, &[]);
        let history = History {
            born: Born::Entry(set),
            moved: 2,
        };
        let list = [
            encode(EntryKind::Restock, 4, Reference::Admin, 30, &[]),
            encode(EntryKind::Restock, 1, Reference::Admin, 20, &[]),
        ];
        let ids: Vec<String> = history
            .movements(&list, 2, 10)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["30-3", "20-2", "10-1"]);
        assert_eq!(history.sums(&list).unwrap(), Some([10, 0]));
        // Trimmed: the creation is older than what fell off, so it is not shown, nor summed.
        assert_eq!(history.movements(&list[..1], 1, 10).unwrap().len(), 1);
        assert_eq!(history.sums(&list[..1]).unwrap(), None);
        // The limit counts the creation too.
        assert_eq!(history.movements(&list, 2, 2).unwrap().len(), 2);
        // Created in the list: it is movement 1 there. Predating the layout: no sum.
        let in_list = History::from_fields(Some("-".into()), Some("2")).unwrap();
        assert_eq!(in_list.sums(&list).unwrap(), Some([5, 0]));
        assert_eq!(in_list.movements(&list, 2, 10).unwrap()[1].id, "20-1");
        let unknown = History::from_fields(None, Some("2")).unwrap();
        assert_eq!(unknown.sums(&list).unwrap(), None);
    }
}
