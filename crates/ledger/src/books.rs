//! Reading the books: an order that aged out of Redis, and `stockwatch verify --ledger`.

use super::LedgerError;
use super::dead::dead_letters;
use super::feed::{Feed, listed_slots};
use crate::convert;
use crate::domain::{InvalidInput, OrderId, ReservationId};
use crate::ops::{Order, OrderLine, OrderSource};
use crate::store::Store;
use serde::Serialize;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// Order ids asked of PostgreSQL per query.
const CHUNK: usize = 1000;

/// The counters the books keep per SKU, in the order of the movements' `d_` columns.
const NAMES: [&str; 5] = ["available", "reserved", "sold", "received", "damaged"];

/// An order from the books (`GET /v1/orders/{id}` once it aged out of Redis).
pub async fn find_order(pool: &PgPool, order_id: &OrderId) -> Result<Option<Order>, sqlx::Error> {
    let id = order_id.to_string();
    let head: Option<(String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT user_id, source, reservation_id::text, round(extract(epoch from created_at) * 1000)::bigint
         FROM orders WHERE order_id = $1::uuid",
    )
    .bind(&id)
    .fetch_optional(pool)
    .await?;
    let Some((user_id, source, reservation_id, created_at)) = head else {
        return Ok(None);
    };
    let reservation_id = match reservation_id {
        None => None,
        Some(raw) => Some(ReservationId::parse(&raw).ok_or_else(|| undecodable(format!("reservation id {raw:?}")))?),
    };
    let lines: Vec<(String, i64, Option<String>)> = sqlx::query_as(
        "SELECT sku, quantity, allocations::text FROM order_lines WHERE order_id = $1::uuid ORDER BY line_no",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;
    let source: OrderSource =
        serde_json::from_value(serde_json::Value::String(source)).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Some(
        Order {
            order_id: *order_id,
            user_id: decoded(user_id)?,
            items: lines
                .into_iter()
                .map(|(sku, quantity, allocations)| {
                    Ok(OrderLine::new(
                        decoded(sku)?,
                        quantity,
                        allocations_of(allocations.as_deref()),
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()?,
            created_at,
            source,
            reservation_id,
            status: None,
            returns: super::returns::returns_of(pool, &id).await?,
        }
        .with_allocations(),
    ))
}

/// A domain value read back from a column: the database holds only what the program wrote,
/// so anything else is reported as a decode error, like a column of the wrong type.
fn decoded<T: TryFrom<String, Error = InvalidInput>>(raw: String) -> Result<T, sqlx::Error> {
    T::try_from(raw).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn undecodable(what: String) -> sqlx::Error {
    sqlx::Error::Decode(what.into())
}

/// A line's stored allocations (NULL, or anything unreadable, is all from `default`, as in
/// Redis, where such a line stores none).
fn allocations_of(json: Option<&str>) -> Vec<crate::ops::level::Allocation> {
    json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default()
}

/// One way the books and Redis disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `not_drained`, `dead_letter`, `counter_mismatch`, `order_lines_mismatch`,
    /// `order_missing_in_ledger`, `order_differs`, `returns_differ`, `incoming_mismatch`,
    /// `preordered_mismatch` (v1.5) or `order_missing_in_redis`.
    pub rule: &'static str,
    /// The SKU or order it is about.
    pub subject: String,
    /// One sentence with the numbers.
    pub message: String,
}

/// What `verify --ledger` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LedgerReport {
    /// No difference.
    pub ok: bool,
    /// SKUs compared.
    pub skus: usize,
    /// Redis orders looked up in the books.
    pub orders: usize,
    /// Orders only in the books because they aged out of Redis (reported, not a fault).
    pub aged_out: usize,
    /// Every difference.
    pub differences: Vec<Difference>,
}

/// Compares the books with Redis, after waiting up to `drain` for the projectors to catch
/// up. `retention`: how long orders stay in Redis (`None`: for ever), so an order only in
/// the books is either aged out or missing.
pub async fn check(
    store: &Store,
    pool: &PgPool,
    drain: Duration,
    retention: Option<Duration>,
) -> Result<LedgerReport, LedgerError> {
    let mut report = LedgerReport::default();
    let diff = |rule, subject: &str, message: String| Difference {
        rule,
        subject: subject.to_owned(),
        message,
    };
    let slots = listed_slots(store).await?;
    let feed = Feed::new(store.clone(), 1, Duration::from_secs(3600));
    let waited = tokio::time::Instant::now();
    loop {
        let lag = feed.trim_and_measure(&slots).await?;
        if lag.entries == 0 {
            break;
        }
        if waited.elapsed() >= drain {
            report.differences.push(diff(
                "not_drained",
                "ledger",
                format!(
                    "{} feed entries are not in the books yet (oldest {:.1} s)",
                    lag.entries, lag.seconds
                ),
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for letter in dead_letters(store).await? {
        report.differences.push(diff(
            "dead_letter",
            &letter.source,
            format!(
                "entry {} of slot {} is a dead letter: {}",
                letter.source, letter.slot, letter.reason
            ),
        ));
    }
    compare_counters(store, pool, &mut report).await?;
    for (rule, subject, message) in crate::on_the_way::compare(store, pool).await? {
        report.differences.push(diff(rule, &subject, message));
    }
    compare_orders(store, pool, retention, &mut report).await?;
    report.ok = report.differences.is_empty();
    Ok(report)
}

async fn compare_counters(store: &Store, pool: &PgPool, report: &mut LedgerReport) -> Result<(), LedgerError> {
    let keys = store.keys();
    let mut redis: BTreeMap<String, [i64; 5]> = BTreeMap::new();
    for chunk in store.scan(&keys.stock_pattern(), 500).await?.chunks(500) {
        let reads = chunk
            .iter()
            .map(|k| redis::cmd("HMGET").arg(k).arg(&NAMES).to_owned())
            .collect();
        let rows: Vec<[Option<i64>; 5]> = store.read_all(reads).await?;
        for (key, row) in chunk.iter().zip(rows) {
            if let Some(sku) = keys.sku_of_stock_key(key) {
                redis.insert(sku.to_string(), row.map(|v| v.unwrap_or(0)));
            }
        }
    }
    // A retired SKU's movements stay in the books: what it sold stays sold and received.
    let retired = crate::ops::retired_units(store).await?;
    for (sku, sold) in retired.sold {
        let row = redis.entry(sku).or_default();
        row[2] += sold;
        row[3] += sold;
    }
    let sums: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT sku, sum(d_available)::bigint, sum(d_reserved)::bigint, sum(d_sold)::bigint, sum(d_received)::bigint,
                sum(d_damaged)::bigint
         FROM movements GROUP BY sku",
    )
    .fetch_all(pool)
    .await?;
    let books: HashMap<String, [i64; 5]> = sums
        .into_iter()
        .map(|(s, a, r, so, re, d)| (s, [a, r, so, re, d]))
        .collect();
    let lines: Vec<(String, i64)> = sqlx::query_as("SELECT sku, sum(quantity)::bigint FROM order_lines GROUP BY sku")
        .fetch_all(pool)
        .await?;
    let mut in_orders: HashMap<String, i64> = lines.into_iter().collect();
    // Units that came back from orders (cancellations and returns) are sold no more.
    let back: Vec<(String, i64)> = sqlx::query_as("SELECT sku, sum(quantity)::bigint FROM return_lines GROUP BY sku")
        .fetch_all(pool)
        .await?;
    for (sku, units) in back {
        *in_orders.entry(sku).or_default() -= units;
    }
    let skus: HashSet<&String> = redis.keys().chain(books.keys()).collect();
    let mut skus: Vec<&String> = skus.into_iter().collect();
    skus.sort();
    report.skus = skus.len();
    for sku in skus {
        let r = redis.get(sku).copied().unwrap_or_default();
        let b = books.get(sku).copied().unwrap_or_default();
        for i in 0..NAMES.len() {
            if r[i] != b[i] {
                report.differences.push(Difference {
                    rule: "counter_mismatch",
                    subject: sku.clone(),
                    message: format!(
                        "{} is {} in Redis but the ledger's movements add up to {}",
                        NAMES[i], r[i], b[i]
                    ),
                });
            }
        }
        let sold_in_orders = in_orders.get(sku).copied().unwrap_or(0);
        if sold_in_orders != r[2] {
            report.differences.push(Difference {
                rule: "order_lines_mismatch",
                subject: sku.clone(),
                message: format!(
                    "sold is {} in Redis but the ledger's order lines add up to {sold_in_orders}",
                    r[2]
                ),
            });
        }
    }
    Ok(())
}

async fn compare_orders(
    store: &Store,
    pool: &PgPool,
    retention: Option<Duration>,
    report: &mut LedgerReport,
) -> Result<(), LedgerError> {
    let keys = store.keys();
    // Both directions a page at a time: memory stays per page, not per order.
    let mut order_keys = crate::store::KeyScan::new(store, &keys.order_pattern(), CHUNK);
    while let Some(chunk) = order_keys.next().await? {
        let raws: Vec<Option<String>> = store
            .read_all(chunk.iter().map(|k| redis::cmd("GET").arg(k).to_owned()).collect())
            .await?;
        let orders: Vec<Order> = raws
            .into_iter()
            .flatten()
            .filter_map(|raw| serde_json::from_str(&raw).ok())
            .collect();
        let ids: Vec<String> = orders.iter().map(|o| o.order_id.to_string()).collect();
        let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT order_id::text, sku, quantity, allocations::text FROM order_lines WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, line_no",
        )
        .bind(&ids)
        .fetch_all(pool)
        .await?;
        let back: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT order_id::text, sku, sum(quantity)::bigint FROM return_lines WHERE order_id = ANY($1::uuid[]) GROUP BY 1, 2",
        )
        .bind(&ids)
        .fetch_all(pool)
        .await?;
        let back: HashMap<(String, String), i64> = back.into_iter().map(|(o, s, q)| ((o, s), q)).collect();
        let mut books: HashMap<String, Vec<OrderLine>> = HashMap::new();
        for (id, sku, quantity, allocations) in rows {
            books.entry(id).or_default().push(OrderLine::new(
                decoded(sku)?,
                quantity,
                allocations_of(allocations.as_deref()),
            ));
        }
        for order in orders {
            report.orders += 1;
            match books.get(&order.order_id.to_string()) {
                None => report.differences.push(Difference {
                    rule: "order_missing_in_ledger",
                    subject: order.order_id.to_string(),
                    message: "the order is in Redis but not in the ledger".into(),
                }),
                Some(lines) if *lines != order.items => report.differences.push(Difference {
                    rule: "order_differs",
                    subject: order.order_id.to_string(),
                    message: format!("Redis has {:?} but the ledger has {:?}", order.items, lines),
                }),
                Some(_) => {}
            }
            for line in &order.items {
                let id = order.order_id.to_string();
                let (redis, books) = (order.returned(&line.sku), back.get(&(id, line.sku.to_string())));
                if redis != books.copied().unwrap_or(0) {
                    report.differences.push(Difference {
                        rule: "returns_differ",
                        subject: order.order_id.to_string(),
                        message: format!(
                            "{} units of {} came back in Redis but {} in the ledger",
                            redis,
                            line.sku,
                            books.copied().unwrap_or(0)
                        ),
                    });
                }
            }
        }
    }
    let cutoff_ms = retention.map(|r| crate::ops::now_ms() - convert::millis_i64(r));
    let mut after = uuid::Uuid::nil().to_string();
    loop {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT order_id::text, round(extract(epoch from created_at) * 1000)::bigint FROM orders WHERE order_id > $1::uuid ORDER BY order_id LIMIT 1000",
        )
        .bind(&after)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        // Is each row's order still in Redis? (An id that is not ours cannot be.)
        let ids: Vec<Option<OrderId>> = rows.iter().map(|(id, _)| OrderId::parse(id)).collect();
        let exists: Vec<i64> = store
            .read_all(
                ids.iter()
                    .flatten()
                    .map(|id| redis::cmd("EXISTS").arg(keys.order(id)).to_owned())
                    .collect(),
            )
            .await?;
        let mut exists = exists.into_iter();
        for ((id, created_at), parsed) in rows.into_iter().zip(&ids) {
            if parsed.is_some() && exists.next() == Some(1) {
                continue;
            }
            match cutoff_ms {
                Some(cutoff) if created_at <= cutoff => report.aged_out += 1,
                _ => report.differences.push(Difference {
                    rule: "order_missing_in_redis",
                    subject: id,
                    message: "the ledger has an order Redis never had, or lost before its retention".into(),
                }),
            }
        }
    }
    Ok(())
}
