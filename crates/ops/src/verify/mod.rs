//! `stockwatch verify`: checks every invariant of the contract over all SKUs, reading with
//! SCAN (never KEYS) so a big store is walked in small steps without blocking Redis.
//!
//! Run it at a quiescent moment: while traffic flows, a SKU read before an order and the
//! order read after it disagree without anything being wrong.

mod expected;
mod locations;
mod low_at;
mod preorders;

use super::Order;
use super::level::Level;
use super::movements::{BORN, History, MOVED};
use super::reservation::Reservation;
use crate::Inventory;
use crate::domain::{ReservationId, ReservationStatus, Sku};
use crate::error::{Error, StoreError};
use crate::store::KeyScan;
use expected::Expected;
use locations::ByLocation;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Keys asked for per SCAN step and read per pipeline.
const STEP: usize = 500;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which rule: `available_negative`, `reserved_negative`, `sold_negative`,
    /// `reserved_mismatch`, `sold_mismatch`, `conservation`, `movements_mismatch`,
    /// `damaged_negative`, `damaged_mismatch`, `return_exceeds_sold`, `incoming_mismatch`,
    /// `low_stock_index_mismatch`, `settings_unmarked`,
    /// `unknown_sku_reference`, `hold_not_indexed`, `corrupt_record`, or one of
    /// `location_negative`, `location_reserved_mismatch`, `location_sold_mismatch`,
    /// `location_conservation` (the same rules, per location).
    pub rule: &'static str,
    /// The SKU it concerns, when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// One sentence with the numbers.
    pub message: String,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// True when no rule is broken.
    pub ok: bool,
    /// SKUs checked.
    pub skus: usize,
    /// Orders read.
    pub orders: usize,
    /// Reservations read (terminal ones included, until their TTL deletes them).
    pub reservations: usize,
    /// Active reservations among them.
    pub active_reservations: usize,
    /// Every broken rule, SKUs in name order.
    pub violations: Vec<Violation>,
}

/// Checks, for every SKU: no counter below zero; `reserved` = the active reservations'
/// quantities; `sold` = the order lines' quantities (those of orders that aged out of Redis
/// into the ledger included, from their slots' `aged` counters; those of a retired SKU of the
/// same name, kept in its slot's `retired` hash, excepted); `available + reserved + sold` = the
/// stock received (the `received` counter, and the sum of `set`/`restock` movements while
/// the stream has not been trimmed). The same per location (`locations`). Also: every order and reservation names a known SKU,
/// and every active reservation is in the expiry index (else no worker would release it).
pub async fn verify(store: &Inventory) -> Result<Report, Error> {
    let keys = store.keys();
    let mut violations = Vec::new();
    let mut by_location = ByLocation::default();

    let mut sold: HashMap<String, i64> = HashMap::new();
    let mut queued = preorders::Queued::default();
    // Orders, then holds, then the SKUs, each a SCAN step at a time: what stays in memory is
    // per SKU with orders or holds.
    let (mut order_keys, mut orders) = (KeyScan::new(store, &keys.order_pattern(), STEP), 0);
    while let Some(chunk) = order_keys.next().await? {
        orders += chunk.len();
        let rows: Vec<Option<String>> = store
            .read_all(chunk.iter().map(|key| redis::cmd("GET").arg(key).to_owned()).collect())
            .await?;
        for (key, raw) in chunk.iter().zip(rows) {
            match raw.as_deref().map(serde_json::from_str::<Order>) {
                Some(Ok(order)) => {
                    let order = settled(store, order);
                    // A line not all back yet may still wait (a cancel's share in a slot
                    // still pending counts as not back: `settled` leaves it out).
                    for line in order.items.iter().filter(|l| order.returned(&l.sku) < l.quantity) {
                        queued.line(line);
                    }
                    for line in &order.items {
                        let returned = order.returned(&line.sku);
                        if returned > line.quantity {
                            violations.push(Violation {
                                rule: "return_exceeds_sold",
                                sku: Some(line.sku.to_string()),
                                message: format!(
                                    "order {} sold {} but {returned} came back",
                                    order.order_id, line.quantity
                                ),
                            });
                        }
                        by_location.sold(&line.sku, &order.still_sold(line));
                        *sold.entry(line.sku.to_string()).or_default() += line.quantity - returned;
                    }
                }
                Some(Err(e)) => violations.push(corrupt(key, &e.to_string())),
                None => {} // deleted between SCAN and GET
            }
        }
    }

    // Orders that aged out of Redis once in the ledger: their lines, kept per slot.
    let ledger_slots: Vec<u16> = store.query(redis::cmd("SMEMBERS").arg(keys.ledger_slots())).await?;
    let aged: Vec<HashMap<String, i64>> = store
        .read_all(
            ledger_slots
                .iter()
                .map(|&s| redis::cmd("HGETALL").arg(keys.aged(s)).to_owned())
                .collect(),
        )
        .await?;
    for (sku, units) in aged.into_iter().flatten() {
        by_location.aged(&sku);
        *sold.entry(sku).or_default() += units;
    }
    // Orders of retired SKUs: their units are the retired SKU's, not the live one's.
    let retired = crate::retired_units(store).await?;
    by_location.retired(&retired);

    let mut reserved: HashMap<String, i64> = HashMap::new();
    // Only the indexes of listed slots count: the worker sweeps no other.
    let mut indexed: HashSet<String> = HashSet::new();
    let slots: Vec<u16> = store.query(redis::cmd("SMEMBERS").arg(keys.expiry_slots())).await?;
    for slot in slots {
        let ids: Vec<String> = store
            .query(redis::cmd("ZRANGE").arg(keys.expiry(slot)).arg(0).arg(-1))
            .await?;
        indexed.extend(ids);
    }
    let mut resv_keys = KeyScan::new(store, &keys.reservation_pattern(), STEP);
    let (mut active, mut reservations) = (0, 0);
    while let Some(chunk) = resv_keys.next().await? {
        reservations += chunk.len();
        let rows: Vec<HashMap<String, String>> = store
            .read_all(
                chunk
                    .iter()
                    .map(|key| redis::cmd("HGETALL").arg(key).to_owned())
                    .collect(),
            )
            .await?;
        for (key, fields) in chunk.iter().zip(rows) {
            let id = key.rsplit(':').next().and_then(ReservationId::parse);
            let resv = match id.map(|id| Reservation::from_fields(&id, fields)) {
                Some(Ok(Some(resv))) => resv,
                Some(Ok(None)) => continue,
                Some(Err(e)) => {
                    violations.push(corrupt(key, &e.to_string()));
                    continue;
                }
                None => {
                    violations.push(corrupt(key, "not a reservation id"));
                    continue;
                }
            };
            // A cross-slot reservation holds nothing itself; its parts (counted here) do.
            if resv.status != ReservationStatus::Active || !resv.parts.is_empty() {
                continue;
            }
            active += 1;
            if !indexed.contains(&resv.reservation_id.to_string()) {
                violations.push(Violation {
                    rule: "hold_not_indexed",
                    sku: resv.items.first().map(|l| l.sku.to_string()),
                    message: format!(
                        "active reservation {} is not in the expiry index, so it would never be released",
                        resv.reservation_id
                    ),
                });
            }
            for line in resv.items {
                queued.line(&line);
                by_location.reserved(&line);
                *reserved.entry(line.sku.into()).or_default() += line.quantity;
            }
        }
    }

    // The low-stock index, unless this store's thresholds predate it (`serve` builds it at
    // its next start): a SKU is in it, scored by its total `available`, exactly while that is
    // below its threshold.
    let mut low = HashMap::new();
    let built: bool = store
        .query(
            redis::cmd("EXISTS")
                .arg(keys.low_stock_complete())
                .arg(keys.low_stock_slots()),
        )
        .await
        .map(|n: i64| n > 0)?;
    if built {
        low.extend(crate::alerts::low_stock_index(store, None, None).await?);
    }
    // The same per location, once this store's thresholds are indexed there.
    let complete: Option<String> = store.query(redis::cmd("GET").arg(keys.low_stock_complete())).await?;
    let low_at = (complete.as_deref() == Some(crate::alerts::LOW_STOCK_COMPLETE)).then(low_at::LowAt::default);

    // Once the store is marked, a SKU with a setting must carry the settings mark, or a `lua`
    // take would not see the setting.
    let marked: bool = store.query(redis::cmd("EXISTS").arg(keys.settings_marked())).await?;

    // Last the SKUs, a SCAN step at a time, each checked as it is read and then dropped: what
    // stays in memory is per SKU with orders or holds, not per SKU.
    let mut expected = Expected {
        sold,
        reserved,
        retired,
        low: built.then_some(low),
        low_at,
        by_location,
        reborn: HashSet::new(),
        queued,
    };
    let (mut stock_keys, mut skus) = (KeyScan::new(store, &keys.stock_pattern(), STEP), 0);
    while let Some(chunk) = stock_keys.next().await? {
        let reads = chunk.iter().map(|key| redis::cmd("HGETALL").arg(key).to_owned());
        let rows: Vec<HashMap<String, String>> = store.read_all(reads.collect()).await?;
        let mut levels = Vec::new();
        for (key, fields) in chunk.iter().zip(rows) {
            let Some(sku) = keys.sku_of_stock_key(key) else {
                continue;
            };
            if let Some(setting) = crate::settings_mark::unmarked(&fields).filter(|_| marked) {
                violations.push(Violation {
                    rule: "settings_unmarked",
                    sku: Some(sku.to_string()),
                    message: format!("has `{setting}` but not the settings mark: a `lua` take would not see it"),
                });
            }
            match Level::parse(&sku, &fields) {
                Ok(Some(level)) => {
                    match History::from_fields(fields.get(BORN).cloned(), fields.get(MOVED).map(String::as_str)) {
                        Ok(history) => {
                            incoming(&sku, &level, &fields, key, &mut violations);
                            levels.push((sku, level, history));
                        }
                        Err(e) => violations.push(corrupt(key, &e.to_string())),
                    }
                }
                Ok(None) => {} // deleted between SCAN and read
                Err(e) => violations.push(corrupt(key, &e.to_string())),
            }
        }
        let by_movements = received_by_movements(store, &levels, &mut violations).await?;
        for (sku, level, _) in &levels {
            skus += 1;
            expected.check(
                sku.as_str(),
                level,
                by_movements.get(sku.as_str()).copied(),
                &mut violations,
            );
        }
    }
    if let Some(low_at) = expected.low_at.take() {
        low_at.compare(store, &mut violations).await?;
    }
    expected.leftovers(&mut violations);
    // SKUs in name order, each SKU's rules in the order checked.
    violations.sort_by(|a, b| a.sku.cmp(&b.sku));
    Ok(Report {
        ok: violations.is_empty(),
        skus,
        orders,
        reservations,
        active_reservations: active,
        violations,
    })
}

/// The order with only the returns whose stock has moved: a cross-slot return's lines in
/// slots still pending are left out (their units are still sold there).
fn settled(store: &Inventory, mut order: Order) -> Order {
    for ret in &mut order.returns {
        let pending = std::mem::take(&mut ret.pending);
        ret.lines
            .retain(|l| !pending.contains(&store.keys().slot_of_sku(&l.sku)));
    }
    order
}

/// The rule of a SKU's purchase orders: `incoming` is what they have on the way.
fn incoming(sku: &Sku, level: &Level, fields: &HashMap<String, String>, key: &str, violations: &mut Vec<Violation>) {
    match crate::incoming::PurchaseOrder::all_of(sku, fields) {
        Ok(orders) => violations.extend(crate::incoming::incoming_differences(level, &orders).into_iter().map(
            |message| Violation {
                rule: "incoming_mismatch",
                sku: Some(sku.to_string()),
                message,
            },
        )),
        Err(e) => violations.push(corrupt(key, &e.to_string())),
    }
}

fn corrupt(key: &str, why: &str) -> Violation {
    Violation {
        rule: "corrupt_record",
        sku: None,
        message: format!("{key}: {why}"),
    }
}

/// Per SKU of `levels` whose history is whole, Σ of its movements' `received` and `damaged`. Only SKUs
/// that moved since their creation cost a read (one pipeline for the chunk): the others'
/// history is their `born` field.
async fn received_by_movements(
    store: &Inventory,
    levels: &[(Sku, Level, History)],
    violations: &mut Vec<Violation>,
) -> Result<HashMap<String, [i64; 2]>, StoreError> {
    let listed: Vec<&Sku> = levels
        .iter()
        .filter(|(_, _, h)| h.has_list())
        .map(|(s, _, _)| s)
        .collect();
    let reads = listed.iter().map(|sku| {
        redis::cmd("LRANGE")
            .arg(store.keys().movements(sku))
            .arg(0)
            .arg(-1)
            .to_owned()
    });
    let mut lists: HashMap<&Sku, Vec<String>> = listed
        .iter()
        .copied()
        .zip(store.read_all(reads.collect()).await?)
        .collect();
    let mut sums = HashMap::new();
    for (sku, _, history) in levels {
        let entries = lists.remove(sku).unwrap_or_default();
        match history.sums(&entries) {
            Ok(Some(sum)) => {
                sums.insert(sku.to_string(), sum);
            }
            Ok(None) => {}
            Err(e) => violations.push(corrupt(&store.keys().movements(sku), &e.to_string())),
        }
    }
    Ok(sums)
}
