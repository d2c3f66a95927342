//! The commands that decide a change's stock alerts, and keep the low-stock index, inside
//! the change's own MULTI (or script).

use crate::Inventory;
use crate::domain::Sku;
use crate::level::{Level, Place};
use std::sync::LazyLock;

/// `low_index.lua` then `alerts.lua`: the functions every script that changes stock shares.
fn functions() -> String {
    format!(
        "{}\n{}",
        include_str!("../lua/low_index.lua"),
        include_str!("../lua/alerts.lua")
    )
}

/// `lua` without its comment lines and blank lines. The MULTIs of the WATCH paths send a
/// script's whole body with each EVAL (see `crossing_cmd`) and Redis hashes it each time, so
/// the comments would cost every change of a SKU with rules.
fn code(lua: &str) -> String {
    lua.lines()
        .filter(|line| !line.trim_start().starts_with("--") && !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The alert check of one change, for the MULTIs of the WATCH paths.
static CROSSING: LazyLock<String> = LazyLock::new(|| {
    code(&format!(
        "{}\nreturn raise_alerts(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4])",
        functions()
    ))
});

/// The alert check, then the SKU's entries at each location from the hash as the change
/// left it: for changes that do not hold the level they leave (a hold's end, a return).
static CROSSING_PLACES: LazyLock<String> = LazyLock::new(|| {
    code(&format!(
        "{}\n{}\nraise_alerts(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4])\nindex_places(KEYS[1], KEYS[3], ARGV[1])\nreturn 0",
        functions(),
        include_str!("../lua/low_places.lua")
    ))
});

/// The index upkeep alone, for changes of a threshold.
static REINDEX: LazyLock<String> = LazyLock::new(|| {
    code(&format!(
        "{}\n{}\nreturn reindex_low(KEYS[1], KEYS[2], ARGV[1])",
        include_str!("../lua/low_index.lua"),
        include_str!("../lua/low_places.lua")
    ))
});

/// The shared functions ahead of `body`: how a script that changes stock shares the one
/// rule (it is loaded once and called by EVALSHA, so it keeps its comments).
pub(crate) fn with_alerts(body: &str) -> String {
    format!("{}\n{body}", functions())
}

/// Queued after the writes that moved `sku`'s total `available` by `delta`, in the same
/// MULTI: it reads the level they left and appends any alert crossed to the slot's alert
/// stream, so a crossing is decided exactly once whoever races. With `places`, it also sets
/// the SKU's low-stock entries at each location from that level: for a caller that does not
/// know how each location moved (one that does writes [`places_cmds`] or [`index_cmds`]).
/// `EVAL`, not `EVALSHA`: a script missing from the cache would fail inside EXEC after the
/// other writes applied.
pub(crate) fn crossing_cmd(store: &Inventory, sku: &Sku, delta: i64, at_ms: i64, places: bool) -> redis::Cmd {
    let keys = store.keys();
    let slot = store.feed_slot(keys.slot_of_sku(sku));
    let script = if places { &CROSSING_PLACES } else { &CROSSING };
    redis::cmd("EVAL")
        .arg(script.as_str())
        .arg(3)
        .arg(keys.stock(sku))
        .arg(keys.alerts(slot))
        .arg(keys.low_stock(slot))
        .arg(sku.as_str())
        .arg(delta)
        .arg(at_ms)
        .arg(store.config().movements_maxlen)
        .to_owned()
}

/// The low-stock entries at each location that takes moved, for a SKU with a threshold
/// and named locations (without, the alert check keeps `default`): `before` as the WATCH
/// read it, `after` as the takes leave it. Only a location that moved within the low range
/// or across its edge is written, as the alert check does for the total.
pub(crate) fn places_cmds(store: &Inventory, sku: &Sku, before: &Level, after: &Level) -> Vec<redis::Cmd> {
    let Some(threshold) = after.rules.low_stock_threshold.filter(|_| after.indexes_places()) else {
        return Vec::new();
    };
    let (keys, slot) = (store.keys(), feed_slot(store, sku));
    before
        .places
        .iter()
        .zip(&after.places)
        .filter(|(was, now)| {
            let (was, now) = (was.counts.sellable(), now.counts.sellable());
            was != now && (was < threshold || now < threshold)
        })
        .map(|(_, now)| {
            entry_cmd(
                keys.low_stock_at(slot, now.name.as_str()),
                sku,
                after.low_stock_score(Some(now)),
            )
        })
        .collect()
}

/// Queued last in a MULTI that changed `sku`'s threshold, or moved units between its
/// locations, when its WATCH holds the level: `level` is what the MULTI leaves, so the
/// entries (in total and at each location) are decided here. A plain ZADD or ZREM costs
/// Redis under a microsecond, where [`reindex_cmd`]'s EVAL costs about ten.
pub(crate) fn index_cmds(store: &Inventory, sku: &Sku, level: &Level) -> Vec<redis::Cmd> {
    entries(store, sku, level, |place| level.low_stock_score(place))
}

/// Every low-stock entry of `sku` (of `level`'s locations) removed: it is retired.
pub(crate) fn unindex_cmds(store: &Inventory, sku: &Sku, level: &Level) -> Vec<redis::Cmd> {
    entries(store, sku, level, |_| None)
}

/// `sku`'s entry in total and at each of `level`'s locations, as `score` says (`None`: none).
fn entries(
    store: &Inventory,
    sku: &Sku,
    level: &Level,
    score: impl Fn(Option<&Place>) -> Option<i64>,
) -> Vec<redis::Cmd> {
    let (keys, slot) = (store.keys(), feed_slot(store, sku));
    let places = level
        .places
        .iter()
        .map(|p| entry_cmd(keys.low_stock_at(slot, p.name.as_str()), sku, score(Some(p))));
    std::iter::once(entry_cmd(keys.low_stock(slot), sku, score(None)))
        .chain(places)
        .collect()
}

/// `sku` in the index `key` with `score`, or out of it.
fn entry_cmd(key: String, sku: &Sku, score: Option<i64>) -> redis::Cmd {
    match score {
        Some(score) => redis::cmd("ZADD").arg(key).arg(score).arg(sku.as_str()).to_owned(),
        None => redis::cmd("ZREM").arg(key).arg(sku.as_str()).to_owned(),
    }
}

/// The feed slot whose index keys hold `sku`'s entries.
fn feed_slot(store: &Inventory, sku: &Sku) -> u16 {
    store.feed_slot(store.keys().slot_of_sku(sku))
}

/// Sets `sku`'s low-stock index entries from its hash as it stands, where nothing holds the
/// level (the one-time indexing of thresholds set before the index existed).
pub(crate) fn reindex_cmd(store: &Inventory, sku: &Sku) -> redis::Cmd {
    let keys = store.keys();
    let slot = store.feed_slot(keys.slot_of_sku(sku));
    redis::cmd("EVAL")
        .arg(REINDEX.as_str())
        .arg(2)
        .arg(keys.stock(sku))
        .arg(keys.low_stock(slot))
        .arg(sku.as_str())
        .to_owned()
}
