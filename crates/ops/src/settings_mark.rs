//! The settings mark: a stock-hash field (`opt`) present on every SKU that has, or once had,
//! a setting a take must obey (named locations, alert rules, a sale, safety stock,
//! preorders), so that the `lua` take of a plain SKU reads two fields instead of seven.
//!
//! Why: a field a hash lacks costs Redis a scan of the whole hash per field asked, and most
//! SKUs set none of these. Reading `available` and `opt` first, and the settings only where
//! `opt` is, saves Redis about 9,000 instructions per purchase of a plain SKU, 6% of it
//! (BENCHMARKS.md, session 35).
//!
//! The rule every writer keeps: whatever writes one of `SETTINGS` writes `opt` in the same
//! transaction. `opt` is never removed (a SKU whose settings were all cleared reads them
//! again, and finds none); retiring a SKU deletes its hash whole. Stores written by
//! earlier versions get the mark by [`upgrade`], and a process uses the two-field read only
//! once its store is marked: until then (or in a library user that never runs
//! `ops::upgrade`), the take reads all seven fields, as before.

use crate::Inventory;
use crate::error::Error;
use crate::store::KeyScan;
use redis::Cmd;

/// The stock-hash field that says a SKU may have settings.
pub(crate) const FIELD: &str = "opt";

/// The stock-hash fields a take must see when they are set, in the order `take.lua` reads
/// them (its header is generated from this list).
pub(crate) const SETTINGS: [&str; 6] = ["locs", "low_threshold", "reorder_point", "sale", "safety", "pre"];

/// The first setting a stock hash of `fields` has without the mark, if any (`verify`'s
/// `settings_unmarked`).
pub(crate) fn unmarked(fields: &std::collections::HashMap<String, String>) -> Option<&'static str> {
    match fields.contains_key(FIELD) {
        true => None,
        false => SETTINGS.into_iter().find(|s| fields.contains_key(*s)),
    }
}

/// `hset`, an `HSET` of a stock hash's settings, with the mark among its fields.
pub(crate) fn marking(mut hset: Cmd) -> Cmd {
    hset.arg(FIELD).arg(1);
    hset
}

/// The write that marks the SKU of stock key `key`: queued beside a write of a setting that
/// is not an `HSET` (a counter's `HINCRBY`).
pub(crate) fn cmd(key: &str) -> Cmd {
    marking(redis::cmd("HSET").arg(key).to_owned())
}

/// Marks every SKU that has a setting but no mark (a store from before the mark), then the
/// store. Safe beside writers: they mark what they set, and a mark is never wrong to add.
/// Answers how many SKUs it marked; on a marked store, one `EXISTS`.
pub async fn upgrade(store: &Inventory) -> Result<u64, Error> {
    let keys = store.keys();
    let done: bool = store.query(redis::cmd("EXISTS").arg(keys.settings_marked())).await?;
    let mut marked = 0;
    if !done {
        let mut scan = KeyScan::new(store, &keys.stock_pattern(), 1000);
        while let Some(batch) = scan.next().await? {
            let reads = batch.iter().map(|key| {
                let mut read = redis::cmd("HMGET");
                read.arg(key).arg(FIELD).arg(&SETTINGS[..]);
                read
            });
            let fields: Vec<Vec<Option<String>>> = store.read_all(reads.collect()).await?;
            // Those with a setting and no mark. HSET of the mark is idempotent, so sending
            // it again on a retry is harmless.
            let unmarked: Vec<Cmd> = batch
                .iter()
                .zip(&fields)
                .filter(|(_, f)| f.first().is_some_and(Option::is_none) && f.iter().skip(1).any(Option::is_some))
                .map(|(key, _)| cmd(key))
                .collect();
            marked += unmarked.len();
            let _: Vec<redis::Value> = store.read_all(unmarked).await?;
        }
        let _: () = store
            .query(redis::cmd("SET").arg(keys.settings_marked()).arg(1))
            .await?;
    }
    store.settings_are_marked();
    Ok(u64::try_from(marked).unwrap_or(u64::MAX))
}
