//! The books against Redis for stock on its way (v1.5): per SKU, `incoming` is what its
//! `expect` movements announced less what its `receive` movements took in, and the units
//! preordered are the sum of the movements' `d_preordered`. Redis keeps neither as a
//! counter of record beside its purchase orders, so each is read from the stock hash as
//! `verify` reads it. A retired SKU's purchase orders went with it: only live SKUs count.

use crate::ops::level::Level;
use crate::store::Store;
use crate::{LedgerError, domain::Sku};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};

/// One difference found: its rule, its SKU and a sentence with the numbers.
pub(crate) type Found = (&'static str, String, String);

/// A difference for each live SKU whose `incoming` or preordered units the books disagree
/// with.
pub(crate) async fn compare(store: &Store, pool: &PgPool) -> Result<Vec<Found>, LedgerError> {
    let mut found = Vec::new();
    let keys = store.keys();
    // Per live SKU: (incoming, preordered); only a SKU with units incoming has preorders.
    let mut redis: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for chunk in store.scan(&keys.stock_pattern(), 500).await?.chunks(500) {
        let reads = chunk
            .iter()
            .map(|k| redis::cmd("HGET").arg(k).arg("incoming").to_owned());
        let incoming: Vec<Option<i64>> = store.read_all(reads.collect()).await?;
        for (key, incoming) in chunk.iter().zip(incoming) {
            let Some(sku) = keys.sku_of_stock_key(key) else {
                continue;
            };
            let preordered = match incoming.unwrap_or(0) {
                0 => 0,
                _ => preordered(store, &sku).await?,
            };
            redis.insert(sku.to_string(), (incoming.unwrap_or(0), preordered));
        }
    }
    let sums: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT sku,
                sum(CASE kind WHEN 'expect' THEN quantity WHEN 'receive' THEN -quantity ELSE 0 END)::bigint,
                sum(d_preordered)::bigint
         FROM movements GROUP BY sku",
    )
    .fetch_all(pool)
    .await?;
    let books: HashMap<String, (i64, i64)> = sums.into_iter().map(|(s, i, p)| (s, (i, p))).collect();
    for (sku, (incoming, preordered)) in redis {
        let (in_books, pre_books) = books.get(&sku).copied().unwrap_or_default();
        for (rule, name, here, there) in [
            ("incoming_mismatch", "incoming", incoming, in_books),
            ("preordered_mismatch", "preordered", preordered, pre_books),
        ] {
            if here != there {
                let message = format!("{name} is {here} in Redis but the ledger's movements add up to {there}");
                found.push((rule, sku.clone(), message));
            }
        }
    }
    Ok(found)
}

/// A SKU's units preordered, from its purchase orders' queues.
async fn preordered(store: &Store, sku: &Sku) -> Result<i64, LedgerError> {
    let fields: HashMap<String, String> = store.query(redis::cmd("HGETALL").arg(store.keys().stock(sku))).await?;
    Ok(Level::parse(sku, &fields)?.map_or(0, |l| l.totals.preordered))
}
