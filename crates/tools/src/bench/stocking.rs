//! How the bench stocks a SKU before a run: its level or locations, and the alert rules and
//! sale settings a workload asks for, through the library or over HTTP.

use super::Workload;
use crate::ToolError;
use crate::convert;
use crate::domain::{Available, Location, Priority, Sku, Timestamp};
use crate::ops::{self, Inventory};
use serde_json::json;

/// The share of `stock` the `i`-th of `n` locations holds (the first ones take the rest).
fn share(stock: i64, n: usize, i: usize) -> i64 {
    let n = convert::i64_of(n);
    stock / n + i64::from(convert::i64_of(i) < stock % n)
}

/// Stocks one SKU through the library: `--locations` named locations sharing the stock
/// (drawn in order) or the v1 level, and `--alerts` rules that every take then checks.
pub(super) async fn stock_library(
    store: &Inventory,
    sku: &Sku,
    w: &Workload,
    available: Available,
) -> Result<(), ToolError> {
    let e = |e: crate::error::Error| e.to_string();
    if w.locations == 0 {
        ops::set_stock(store, sku, available).await.map_err(e)?;
    }
    for i in 0..w.locations {
        let location = Location::parse(&format!("w{i}"), "location")?;
        let level = Available::parse(&json!(share(w.stock, w.locations, i)), "stock")?;
        let priority = Priority::parse(&json!(i), "priority")?;
        ops::set_location_stock(store, sku, &location, level, Some(priority), None)
            .await
            .map_err(e)?;
    }
    if w.alerts {
        let rules = ops::level::Rules {
            low_stock_threshold: Some(w.stock / 2),
            ..Default::default()
        };
        ops::alerts::set_rules(store, sku, rules).await.map_err(e)?;
    }
    if w.sale || w.per_customer_limit.is_some() {
        let (opens, closes) = sale_window();
        let sale = ops::sale::SaleChange {
            opens_at: ops::sale::Change::Set(opens),
            closes_at: ops::sale::Change::Set(closes),
            per_customer_limit: ops::sale::Change::Set(w.per_customer_limit.unwrap_or(SALE_LIMIT)),
            ..Default::default()
        };
        ops::set_sale(store, sku, sale).await.map_err(e)?;
    }
    if w.queue {
        // A pace no run reaches: every take is admitted, and checks its admission.
        let room = ops::sale::SaleChange {
            queue: ops::sale::Change::Set(ops::sale::QueueTerms {
                admit_per_s: 100_000,
                admission_ttl_s: 3_600,
            }),
            ..Default::default()
        };
        ops::set_sale(store, sku, room).await.map_err(e)?;
    }
    Ok(())
}

/// `--sale`'s per-customer limit: more than any bench buyer takes.
const SALE_LIMIT: i64 = 1_000_000;

/// `--sale`'s window: opened an hour ago, closing in a day.
fn sale_window() -> (Timestamp, Timestamp) {
    let now = convert::i64_of(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
    );
    let at = |ms: i64| Timestamp::from_millis(ms).expect("a time near now");
    (at(now - 3_600_000), at(now + 86_400_000))
}

/// The same over HTTP: the `PUT`s that stock one SKU, in order.
pub(super) fn stock_requests(sku: &Sku, w: &Workload) -> Vec<(String, serde_json::Value)> {
    let mut puts = Vec::new();
    if w.locations == 0 {
        puts.push((format!("/v1/skus/{sku}/stock"), json!({"available": w.stock})));
    }
    for i in 0..w.locations {
        let body = json!({"available": share(w.stock, w.locations, i), "priority": i});
        puts.push((format!("/v1/skus/{sku}/locations/w{i}/stock"), body));
    }
    if w.alerts {
        puts.push((
            format!("/v1/skus/{sku}/alerts"),
            json!({"low_stock_threshold": w.stock / 2}),
        ));
    }
    if w.sale || w.per_customer_limit.is_some() {
        let (opens, closes) = sale_window();
        let limit = w.per_customer_limit.unwrap_or(SALE_LIMIT);
        puts.push((
            format!("/v1/skus/{sku}/sale"),
            json!({"opens_at": opens.to_rfc3339(), "closes_at": closes.to_rfc3339(), "per_customer_limit": limit}),
        ));
    }
    puts
}
