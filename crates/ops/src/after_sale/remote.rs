//! The other slots of a cross-slot order's return. The order's transaction recorded the
//! return with those slots `pending` and indexed it in its slot's expiry index; each
//! pending slot's share is then one transaction in that slot, which writes a marker
//! (`Keys::return_share`) with the stock, so it applies once; then the order's slot clears
//! the slot from `pending`, and the index entry with the last one. Whoever runs it (the
//! request, a repeat, the expiry worker after a crash) reaches the same end.

use super::{OrderReturn, ReturnLine, writes};
use crate::domain::{EntryKind, OrderId, ReturnId, Sku, UserId};
use crate::error::Error;
use crate::level::Level;
use crate::txn::{self, Optimistic, Plan};
use crate::{Inventory, Order, Unwritten, convert, now_ms};
use redis::{Cmd, Value};
use std::collections::HashMap;

/// How long the request has to finish its other slots itself before the expiry worker
/// would try (it is harmless if both do).
const GRACE_MS: i64 = 5_000;

/// The expiry index member of a return with pending slots.
fn member(order: &OrderId, ret: &ReturnId) -> String {
    format!("return:{order}:{ret}")
}

/// Reads an expiry index member back: `None` when it is not a return's.
pub(crate) fn parse_member(member: &str) -> Option<(OrderId, ReturnId)> {
    let (order, ret) = member.strip_prefix("return:")?.split_once(':')?;
    Some((OrderId::parse(order)?, ReturnId::parse(ret)?))
}

/// When the expiry worker should settle a return made at `at`.
pub(super) fn due_at(at: i64) -> i64 {
    at + GRACE_MS
}

/// The write that indexes a return with pending slots, in the order's transaction.
pub(super) fn index_cmd(store: &Inventory, order: &OrderId, ret: &OrderReturn) -> Cmd {
    redis::cmd("ZADD")
        .arg(store.keys().expiry(order.slot()))
        .arg(due_at(ret.at))
        .arg(member(order, &ret.return_id))
        .to_owned()
}

/// The stock of `order`'s SKUs outside its slot (none on one Redis).
pub(super) async fn read_levels(store: &Inventory, order: &Order, id: &OrderId) -> Result<HashMap<Sku, Level>, Error> {
    let away: Vec<&Sku> = order
        .items
        .iter()
        .map(|l| &l.sku)
        .filter(|s| !super::at_home(store, id, s))
        .collect();
    if away.is_empty() {
        return Ok(HashMap::new());
    }
    let reads = away
        .iter()
        .map(|s| redis::cmd("HGETALL").arg(store.keys().stock(s)).to_owned());
    let rows: Vec<HashMap<String, String>> = store.read_all(reads.collect()).await?;
    let mut levels = HashMap::new();
    for (sku, fields) in away.into_iter().zip(rows) {
        if let Some(level) = Level::parse(sku, &fields)? {
            levels.insert(sku.clone(), level);
        }
    }
    Ok(levels)
}

/// Puts back every pending slot of return `ret` of order `id`, then clears them from the
/// order. A return with nothing pending (or gone) is left as it is. The expiry worker calls
/// it for returns a crashed process left pending; calling it again is harmless.
pub async fn settle(store: &Inventory, id: &OrderId, ret: &ReturnId) -> Result<(), Error> {
    let order = match crate::get_order::stored_order(store, id).await {
        Ok(order) => order,
        Err(Error::UnknownOrder) => return clear_index(store, id, ret).await,
        Err(e) => return Err(e),
    };
    let Some(found) = order.returns.iter().find(|r| r.return_id == *ret) else {
        return clear_index(store, id, ret).await;
    };
    let kind = if found.cancel {
        EntryKind::CancelOrder
    } else {
        EntryKind::Return
    };
    for &slot in &found.pending {
        let lines = order.lines_in(store, found, slot);
        store.list_journal_slot(slot).await?;
        let started = tokio::time::Instant::now();
        let share = Share {
            store,
            slot,
            order: *id,
            user: order.user_id.clone(),
            marker: store.keys().return_share(slot, ret),
            kind,
            lines,
        };
        let crate::Answered { result, effort, .. } = crate::answer(txn::run(store, &share).await, Into::into);
        let moved: Vec<Sku> = share.lines.iter().map(|l| l.sku.clone()).collect();
        crate::finished(store, kind, "watch", started, &result, effort, || moved);
        result?;
    }
    let op = Clear {
        store,
        key: store.keys().order(id),
        id: *id,
        ret: *ret,
    };
    crate::answer(txn::run(store, &op).await, Into::into).result
}

async fn clear_index(store: &Inventory, id: &OrderId, ret: &ReturnId) -> Result<(), Error> {
    let cmd = redis::cmd("ZREM")
        .arg(store.keys().expiry(id.slot()))
        .arg(member(id, ret))
        .to_owned();
    store.query::<i64>(&cmd).await?;
    Ok(())
}

/// One slot's share, applied once (its marker).
struct Share<'a> {
    store: &'a Inventory,
    slot: u16,
    order: OrderId,
    user: UserId,
    marker: String,
    kind: EntryKind,
    lines: Vec<ReturnLine>,
}

impl Share<'_> {
    fn skus(&self) -> Vec<&Sku> {
        self.lines.iter().map(|l| &l.sku).collect()
    }
}

impl Optimistic for Share<'_> {
    /// The marker, then per line its stock and the customer's count.
    type Snapshot = Vec<Value>;
    type Output = ();
    type Rejection = Unwritten<()>;

    fn watch_keys(&self) -> Vec<String> {
        let mut keys = vec![self.marker.clone()];
        keys.extend(self.lines.iter().map(|l| self.store.keys().stock(&l.sku)));
        keys
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("EXISTS").arg(&self.marker);
        writes::read(self.store, &self.user, &self.skus(), pipe);
    }

    fn decide(&self, snapshot: Vec<Value>, _attempt: u32) -> Result<Plan<()>, Self::Rejection> {
        let mut values = snapshot.into_iter();
        if values.next() == Some(Value::Int(1)) {
            return Err(Unwritten::Answered(()));
        }
        // A SKU retired since the return was decided: its share writes nothing for it.
        let reads = writes::parsed(&self.skus(), &mut values)?;
        let lines: Vec<ReturnLine> = self
            .lines
            .iter()
            .filter(|l| reads.contains_key(&l.sku))
            .cloned()
            .collect();
        let lines = writes::as_now(lines, &reads);
        let at = now_ms();
        let mut writes = writes::slot_writes(self.store, &self.order, &self.user, self.kind, &lines, &reads, at)?;
        writes.extend(writes::journal(
            self.store,
            self.slot,
            &self.order,
            self.kind,
            &lines,
            None,
            at,
        ));
        writes.push(
            redis::cmd("SET")
                .arg(&self.marker)
                .arg(1)
                .arg("PX")
                .arg(convert::millis(self.store.config().retention))
                .to_owned(),
        );
        Ok(Plan { writes, output: () })
    }
}

/// Clears the settled slots from the order's return, and its index entry.
struct Clear<'a> {
    store: &'a Inventory,
    key: String,
    id: OrderId,
    ret: ReturnId,
}

impl Optimistic for Clear<'_> {
    type Snapshot = (Option<String>,);
    type Output = ();
    type Rejection = Unwritten<()>;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.key.clone()]
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("GET").arg(&self.key);
    }

    fn decide(&self, (raw,): Self::Snapshot, _attempt: u32) -> Result<Plan<()>, Self::Rejection> {
        let index = redis::cmd("ZREM")
            .arg(self.store.keys().expiry(self.id.slot()))
            .arg(member(&self.id, &self.ret))
            .to_owned();
        let Some(mut order) = raw.and_then(|r| serde_json::from_str::<Order>(&r).ok()) else {
            return Ok(Plan {
                writes: vec![index],
                output: (),
            });
        };
        if let Some(ret) = order.returns.iter_mut().find(|r| r.return_id == self.ret) {
            ret.pending.clear();
        }
        let json = serde_json::to_string(&order).expect("orders serialize");
        let set = redis::cmd("SET").arg(&self.key).arg(json).arg("KEEPTTL").to_owned();
        Ok(Plan {
            writes: vec![set, index],
            output: (),
        })
    }
}
