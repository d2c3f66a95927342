//! `DELETE /v1/skus/{sku}`: retires a SKU. Its stock hash (levels, locations, rules) and
//! its movement history go in one transaction, refused while any unit is reserved. Its
//! orders stay: the units they hold are added to the slot's `retired` hash in the same
//! MULTI (`crate::keys::Keys::retired`), so `verify` still finds every order line's units
//! (in the live SKU, or in a retired one), and the ledger gets a `retire` entry writing the
//! available units off. A later `PUT` makes a fresh SKU with every counter at 0.

use super::level::Level;
use super::{admin_entry, now_ms, read_stock};
use crate::Inventory;
use crate::domain::{EntryKind, Sku};
use crate::error::Error;
use crate::txn::{Optimistic, Plan};
use serde::Serialize;
use std::collections::HashMap;

/// What a retirement did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Retired {
    /// The SKU, which no longer exists.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// The units that were available, now written off.
    pub written_off: i64,
    /// The units its orders hold; they stay readable.
    pub sold: i64,
    /// Unix epoch milliseconds.
    pub retired_at: i64,
}

/// Retires `sku`: `unknown_sku` if it does not exist, `sku_in_use` while units are reserved
/// or preordered. Its purchase orders go with it.
pub async fn retire(store: &Inventory, sku: &Sku) -> Result<Retired, Error> {
    let keys = store.keys();
    let slot = keys.slot_of_sku(sku);
    // The common refusals first, so they leave nothing behind (the MULTI checks again).
    let (available, reserved): (Option<i64>, Option<i64>) = store
        .query(
            redis::cmd("HMGET")
                .arg(keys.stock(sku))
                .arg("available")
                .arg("reserved"),
        )
        .await?;
    if available.is_none() {
        return Err(Error::unknown_sku(sku));
    }
    if let Some(reserved) = reserved.filter(|r| *r != 0) {
        return Err(Error::SkuInUse {
            sku: sku.clone(),
            reserved,
            preordered: 0,
        });
    }
    // Listed before its first field, so `verify` never misses a retired SKU's units.
    let _: () = store
        .query(redis::cmd("SADD").arg(keys.retired_slots()).arg(slot))
        .await?;
    let op = Retire {
        store,
        sku,
        at_ms: now_ms(),
    };
    let retired = super::run_admin(store, EntryKind::Retire, sku, &op).await?;
    super::catalog::remove(store, sku).await?;
    // A `PUT` that made the SKU anew between the MULTI and the removal named it before its
    // write: name it again, so the catalog never misses a SKU that exists.
    let reborn: bool = store.query(redis::cmd("EXISTS").arg(keys.stock(sku))).await?;
    if reborn {
        super::catalog::add(store, sku).await?;
    }
    Ok(retired)
}

struct Retire<'a> {
    store: &'a Inventory,
    sku: &'a Sku,
    at_ms: i64,
}

impl Optimistic for Retire<'_> {
    type Snapshot = (HashMap<String, String>,);
    type Output = Retired;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.store.keys().stock(self.sku)]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        read_stock(self.store, self.sku, pipe);
    }

    fn decide(&self, (fields,): Self::Snapshot, _attempt: u32) -> Result<Plan<Retired>, Error> {
        let (store, sku) = (self.store, self.sku);
        let level = Level::parse(sku, &fields)?.ok_or_else(|| Error::unknown_sku(sku))?;
        let totals = level.totals;
        // Preorders still waiting would wait for purchase orders that go with the SKU.
        if totals.reserved != 0 || totals.preordered != 0 {
            return Err(Error::SkuInUse {
                sku: sku.clone(),
                reserved: totals.reserved,
                preordered: totals.preordered,
            });
        }
        let keys = store.keys();
        let retired = keys.retired(keys.slot_of_sku(sku));
        let mut writes = vec![
            redis::cmd("UNLINK")
                .arg(keys.stock(sku))
                .arg(keys.movements(sku))
                .arg(keys.customers(sku))
                .arg(keys.queue(sku))
                .arg(keys.tickets(sku))
                .to_owned(),
        ];
        writes.extend(crate::alerts::unindex_cmds(store, sku, &level));
        let mut sold = vec![(sku.to_string(), totals.sold)];
        sold.extend(
            level
                .places
                .iter()
                .map(|p| (format!("{sku}@{}", p.name), p.counts.sold)),
        );
        for (field, units) in sold.into_iter().filter(|(_, units)| *units != 0) {
            writes.push(redis::cmd("HINCRBY").arg(&retired).arg(field).arg(units).to_owned());
        }
        writes.extend(admin_entry(store, sku, EntryKind::Retire, totals.available, self.at_ms));
        Ok(Plan {
            output: Retired {
                sku: sku.clone(),
                written_off: totals.available,
                sold: totals.sold,
                retired_at: self.at_ms,
            },
            writes,
        })
    }
}

/// Units held by the orders of retired SKUs: per SKU, and per (SKU, location).
#[derive(Debug, Default)]
pub struct RetiredUnits {
    /// Per SKU.
    pub sold: HashMap<String, i64>,
    /// Per SKU and location.
    pub sold_at: HashMap<(String, String), i64>,
}

/// Reads every slot's `retired` hash (one read per listed slot).
pub async fn retired_units(store: &crate::store::Store) -> Result<RetiredUnits, crate::error::StoreError> {
    let keys = store.keys();
    let slots: Vec<u16> = store.query(redis::cmd("SMEMBERS").arg(keys.retired_slots())).await?;
    let reads = slots
        .iter()
        .map(|&s| redis::cmd("HGETALL").arg(keys.retired(s)).to_owned());
    let hashes: Vec<HashMap<String, i64>> = store.read_all(reads.collect()).await?;
    let mut units = RetiredUnits::default();
    for (field, sold) in hashes.into_iter().flatten() {
        match field.split_once('@') {
            Some((sku, location)) => {
                *units.sold_at.entry((sku.to_owned(), location.to_owned())).or_default() += sold;
            }
            None => *units.sold.entry(field).or_default() += sold,
        }
    }
    Ok(units)
}
