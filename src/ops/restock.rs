use super::{Stock, admin_entry, movement_cmd, now_ms, read_stock, stock_from_fields};
use crate::domain::{Quantity, Sku};
use crate::error::Error;
use crate::store::Store;
use crate::txn::{Optimistic, Plan};

/// Adds units to `available` of an existing SKU (a delivery arrived).
pub async fn restock(store: &Store, sku: &Sku, quantity: Quantity) -> Result<Stock, Error> {
    let op = Restock {
        store,
        sku,
        quantity,
        at_ms: now_ms(),
    };
    super::run_admin(store, "restock", sku, &op).await
}

struct Restock<'a> {
    store: &'a Store,
    sku: &'a Sku,
    quantity: Quantity,
    at_ms: i64,
}

impl Optimistic for Restock<'_> {
    type Snapshot = ([Option<i64>; 3],);
    type Output = Stock;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, _attempt: u32) -> Result<Plan<Stock>, Error> {
        let stock = stock_from_fields(self.sku, fields)?.ok_or_else(|| Error::unknown_sku(self.sku.as_str()))?;
        let key = self.store.keys().stock(self.sku);
        let q = self.quantity.get();
        let mut writes = vec![
            redis::cmd("HINCRBY").arg(&key).arg("available").arg(q).to_owned(),
            redis::cmd("HINCRBY").arg(&key).arg("received").arg(q).to_owned(),
            movement_cmd(self.store, self.sku, "restock", q, "admin", self.at_ms),
        ];
        writes.extend(admin_entry(self.store, self.sku, "restock", q, self.at_ms));
        Ok(Plan {
            writes,
            output: Stock {
                available: stock.available + q,
                ..stock
            },
        })
    }
}
