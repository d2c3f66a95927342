//! `stockwatch verify`: checks every invariant of the contract over all SKUs, reading with
//! SCAN (never KEYS) so a big store is walked in small steps without blocking Redis.
//!
//! Run it at a quiescent moment: while traffic flows, a SKU read before an order and the
//! order read after it disagree without anything being wrong.

mod locations;

use super::Order;
use super::level::Level;
use super::movements::{BORN, History, MOVED};
use super::reservation::Reservation;
use crate::Inventory;
use crate::domain::{ReservationId, ReservationStatus, Sku};
use crate::error::{Error, StoreError};
use crate::store::KeyScan;
use locations::ByLocation;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Keys asked for per SCAN step and read per pipeline.
const STEP: usize = 500;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which rule: `available_negative`, `reserved_negative`, `sold_negative`,
    /// `reserved_mismatch`, `sold_mismatch`, `conservation`, `movements_mismatch`,
    /// `low_stock_index_mismatch`,
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
    let mut stock: BTreeMap<String, Level> = BTreeMap::new();
    // Per SKU, Σ of its stock-received movements, when its history is whole.
    let mut by_movements: HashMap<String, i64> = HashMap::new();
    for chunk in store.scan(&keys.stock_pattern(), STEP).await?.chunks(STEP) {
        let reads = chunk.iter().map(|key| redis::cmd("HGETALL").arg(key).to_owned());
        let rows: Vec<HashMap<String, String>> = store.read_all(reads.collect()).await?;
        let mut histories = Vec::new();
        for (key, fields) in chunk.iter().zip(rows) {
            let Some(sku) = keys.sku_of_stock_key(key) else {
                continue;
            };
            match Level::parse(&sku, &fields) {
                Ok(Some(level)) => {
                    stock.insert(sku.to_string(), level);
                    match History::from_fields(fields.get(BORN).cloned(), fields.get(MOVED).map(String::as_str)) {
                        Ok(history) => histories.push((sku, history)),
                        Err(e) => violations.push(corrupt(key, &e.to_string())),
                    }
                }
                Ok(None) => {} // deleted between SCAN and read
                Err(e) => violations.push(corrupt(key, &e.to_string())),
            }
        }
        received_by_movements(store, histories, &mut by_movements, &mut violations).await?;
    }
    let mut by_location = ByLocation::default();

    let mut sold: HashMap<String, i64> = HashMap::new();
    // Orders and reservations are read a SCAN step at a time: memory stays per SKU.
    let (mut order_keys, mut orders) = (KeyScan::new(store, &keys.order_pattern(), STEP), 0);
    while let Some(chunk) = order_keys.next().await? {
        orders += chunk.len();
        let rows: Vec<Option<String>> = store
            .read_all(chunk.iter().map(|key| redis::cmd("GET").arg(key).to_owned()).collect())
            .await?;
        for (key, raw) in chunk.iter().zip(rows) {
            match raw.as_deref().map(serde_json::from_str::<Order>) {
                Some(Ok(order)) => {
                    for line in order.items {
                        by_location.sold(&line);
                        *sold.entry(line.sku.into()).or_default() += line.quantity;
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
        low.extend(crate::alerts::low_stock_index(store, None).await?);
    }
    for (sku, level) in &stock {
        let c = &level.totals;
        let in_index = low.remove(sku);
        let below = level.rules.low_stock_threshold.filter(|t| c.available < *t);
        if built && in_index != below.map(|_| c.available) {
            violations.push(Violation {
                rule: "low_stock_index_mismatch",
                sku: Some(sku.clone()),
                message: format!(
                    "available is {} and the threshold {}, but the low-stock index holds {}",
                    c.available,
                    shown(level.rules.low_stock_threshold),
                    shown(in_index)
                ),
            });
        }
        by_location.check(sku, level, &mut violations);
        let mut broken = |rule: &'static str, message: String| {
            violations.push(Violation {
                rule,
                sku: Some(sku.clone()),
                message,
            })
        };
        if c.available < 0 {
            broken(
                "available_negative",
                format!("available is {}: oversold by {} units", c.available, -c.available),
            );
        }
        if c.reserved < 0 {
            broken("reserved_negative", format!("reserved is {}", c.reserved));
        }
        if c.sold < 0 {
            broken("sold_negative", format!("sold is {}", c.sold));
        }
        let held = reserved.get(sku).copied().unwrap_or(0);
        if c.reserved != held {
            broken(
                "reserved_mismatch",
                format!("reserved is {} but active reservations hold {held}", c.reserved),
            );
        }
        let in_orders = sold.get(sku).copied().unwrap_or(0) - retired.sold.get(sku).copied().unwrap_or(0);
        if c.sold != in_orders {
            broken(
                "sold_mismatch",
                format!("sold is {} but orders contain {in_orders}", c.sold),
            );
        }
        let total = c.available + c.reserved + c.sold;
        if total != c.received {
            broken(
                "conservation",
                format!(
                    "available + reserved + sold = {total} but {} units were received",
                    c.received
                ),
            );
        }
        if let Some(&by_moves) = by_movements.get(sku)
            && by_moves != c.received
        {
            broken(
                "movements_mismatch",
                format!(
                    "set/restock/adjust movements add up to {by_moves} but the received counter is {}",
                    c.received
                ),
            );
        }
    }
    // A SKU retired and not made again: its orders hold what it sold when retired.
    for (sku, &units) in retired.sold.iter().filter(|(s, _)| !stock.contains_key(*s)) {
        let in_orders = sold.get(sku).copied().unwrap_or(0);
        if in_orders != units {
            violations.push(Violation {
                rule: "sold_mismatch",
                sku: Some(sku.clone()),
                message: format!("{sku} was retired having sold {units} but orders contain {in_orders}"),
            });
        }
    }
    for (sku, available) in low {
        violations.push(Violation {
            rule: "low_stock_index_mismatch",
            sku: Some(sku),
            message: format!("the low-stock index holds {available} for a SKU that does not exist"),
        });
    }
    // Sold units may name a retired SKU; held ones only a live SKU (none is retired while held).
    let mut unknown: Vec<&String> = sold
        .keys()
        .filter(|s| !stock.contains_key(*s) && !retired.sold.contains_key(*s))
        .chain(reserved.keys().filter(|s| !stock.contains_key(*s)))
        .collect();
    unknown.sort();
    unknown.dedup();
    for sku in unknown {
        violations.push(Violation {
            rule: "unknown_sku_reference",
            sku: Some(sku.clone()),
            message: "orders or active reservations name a SKU that has no stock record".into(),
        });
    }
    Ok(Report {
        ok: violations.is_empty(),
        skus: stock.len(),
        orders,
        reservations,
        active_reservations: active,
        violations,
    })
}

/// A number, or "none".
fn shown(n: Option<i64>) -> String {
    n.map_or_else(|| "none".to_owned(), |n| n.to_string())
}

fn corrupt(key: &str, why: &str) -> Violation {
    Violation {
        rule: "corrupt_record",
        sku: None,
        message: format!("{key}: {why}"),
    }
}

/// Adds to `sums`, per SKU of `histories`, Σ of its stock-received movements when its
/// history is whole. Only SKUs that moved since their creation cost a read (one pipeline
/// for the chunk): the others' history is their `born` field.
async fn received_by_movements(
    store: &Inventory,
    histories: Vec<(Sku, History)>,
    sums: &mut HashMap<String, i64>,
    violations: &mut Vec<Violation>,
) -> Result<(), StoreError> {
    let listed: Vec<&Sku> = histories.iter().filter(|(_, h)| h.has_list()).map(|(s, _)| s).collect();
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
    for (sku, history) in &histories {
        let entries = lists.remove(sku).unwrap_or_default();
        match history.received(&entries) {
            Ok(Some(sum)) => {
                sums.insert(sku.to_string(), sum);
            }
            Ok(None) => {}
            Err(e) => violations.push(corrupt(&store.keys().movements(sku), &e.to_string())),
        }
    }
    Ok(())
}
