use super::{Stock, admin_entry, movement_cmd, now_ms, read_stock, stock_from_fields};
use crate::domain::{Available, Sku};
use crate::error::{Error, StoreError};
use crate::store::Store;
use crate::txn::{Optimistic, Plan};

/// Sets `available` to an absolute level, creating the SKU if needed; `reserved` and `sold`
/// are left alone. `received` moves by the difference, so conservation can be verified.
pub async fn set_stock(store: &Store, sku: &Sku, available: Available) -> Result<Stock, Error> {
    let op = SetStock {
        store,
        sku,
        available,
        at_ms: now_ms(),
    };
    super::run_admin(store, "set", sku, &op).await
}

struct SetStock<'a> {
    store: &'a Store,
    sku: &'a Sku,
    available: Available,
    at_ms: i64,
}

impl Optimistic for SetStock<'_> {
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
        let key = self.store.keys().stock(self.sku);
        let new = self.available.get();
        let (before, writes) = match stock_from_fields(self.sku, fields).map_err(Error::Store)? {
            Some(stock) => (
                stock,
                vec![redis::cmd("HSET").arg(&key).arg("available").arg(new).to_owned()],
            ),
            None => (
                Stock {
                    sku: self.sku.clone(),
                    available: 0,
                    reserved: 0,
                    sold: 0,
                },
                vec![
                    redis::cmd("HSET")
                        .arg(&key)
                        .arg("available")
                        .arg(new)
                        .arg("reserved")
                        .arg(0)
                        .arg("sold")
                        .arg(0)
                        .arg("received")
                        .arg(0)
                        .to_owned(),
                ],
            ),
        };
        let delta = new
            .checked_sub(before.available)
            .ok_or_else(|| Error::Store(StoreError::Protocol("available out of range".into())))?;
        let mut writes = writes;
        writes.push(redis::cmd("HINCRBY").arg(&key).arg("received").arg(delta).to_owned());
        writes.push(movement_cmd(self.store, self.sku, "set", delta, "admin", self.at_ms));
        writes.extend(admin_entry(self.store, self.sku, "set", delta, self.at_ms));
        Ok(Plan {
            writes,
            output: Stock {
                available: new,
                ..before
            },
        })
    }
}
