//! Taking stock out of `available` for a cart: the one decision behind purchases, checkouts
//! and reservations, run by any of the three strategies.
//!
//! A take ends in a [`Receipt`]: what it decided plus the ids it created. With an
//! Idempotency-Key the receipt is stored in the same MULTI or script as the effect (refusals
//! too), and a repeat gets the stored receipt back instead of a second effect.

use super::idempotency::{Idempotency, Recalled, Slot, field};
use super::{Effort, Order, OrderLine, OrderSource, movement_cmd, now_ms};
use crate::domain::{CartItems, OrderId, Strategy, UserId};
use crate::error::{Error, Shortage, StoreError};
use crate::store::Store;
use crate::txn::{self, Optimistic, Plan};
use redis::{Cmd, Value};
use std::collections::HashMap;
use std::sync::LazyLock;

static TAKE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(include_str!("../lua/take.lua")));

/// Where the taken units go, and what record the taking leaves.
pub(crate) enum Record {
    /// Sold now: an order stored as JSON.
    Order {
        /// Key of the order.
        key: String,
        /// The order JSON.
        json: String,
    },
    /// Held: a reservation hash plus its entry in the expiry index.
    Reservation {
        /// Key of the reservation hash.
        key: String,
        /// Deadline, epoch ms: the ZSET score.
        expires_at: i64,
        /// Field/value pairs of the hash.
        fields: Vec<(&'static str, String)>,
    },
}

/// One cart to take, with everything the decision needs fixed in advance (ids, time), so
/// that every retry and every strategy writes the same thing.
pub(crate) struct Take {
    pub store: Store,
    pub items: CartItems,
    /// Movement kind: `purchase`, `checkout` or `reserve`.
    pub kind: &'static str,
    /// The order or reservation id the movements point at.
    pub reference: String,
    pub record: Record,
    pub at_ms: i64,
    /// Where the answer is stored when the client sent an Idempotency-Key.
    pub idem: Option<Slot>,
    /// When the caller stops waiting: the request's response timeout.
    pub deadline: tokio::time::Instant,
}

/// The decision, in cart order, before any wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Taken: `available` left after each line.
    Taken(Vec<i64>),
    /// Line `i` (0-based) names a SKU that does not exist.
    UnknownSku(usize),
    /// These lines (0-based) are short, with what was available.
    Short(Vec<(usize, i64)>),
}

impl Outcome {
    /// The tag and numbers both the script and the stored receipt use (1-based lines).
    fn encode(&self) -> (&'static str, Vec<i64>) {
        match self {
            Self::Taken(left) => ("ok", left.clone()),
            Self::UnknownSku(i) => ("unknown_sku", vec![*i as i64 + 1]),
            Self::Short(lines) => (
                "insufficient_stock",
                lines.iter().flat_map(|(i, a)| [*i as i64 + 1, *a]).collect(),
            ),
        }
    }

    fn decode(tag: &str, nums: &[i64], lines: usize) -> Result<Self, StoreError> {
        let bad = || StoreError::Protocol(format!("take outcome {tag} {nums:?} does not fit a {lines}-line cart"));
        let index = |i: i64| usize::try_from(i - 1).ok().filter(|i| *i < lines).ok_or_else(bad);
        match tag {
            "ok" if nums.len() == lines => Ok(Self::Taken(nums.to_vec())),
            "unknown_sku" if nums.len() == 1 => Ok(Self::UnknownSku(index(nums[0])?)),
            "insufficient_stock" if !nums.is_empty() && nums.len().is_multiple_of(2) => Ok(Self::Short(
                nums.chunks(2)
                    .map(|c| Ok((index(c[0])?, c[1])))
                    .collect::<Result<_, StoreError>>()?,
            )),
            _ => Err(bad()),
        }
    }
}

/// What a take ended as: the stored answer of an idempotent request, and what every answer
/// is rendered from, so a replay renders the same body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Receipt {
    /// The order or reservation id created (or that would have been).
    pub reference: String,
    /// The reservation's deadline (0 for orders).
    pub expires_at: i64,
    pub outcome: Outcome,
    pub effort: Effort,
}

impl Receipt {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let (tag, nums) = self.outcome.encode();
        let nums: Vec<String> = nums.iter().map(i64::to_string).collect();
        vec![
            ("ref", self.reference.clone()),
            ("exp", self.expires_at.to_string()),
            ("tag", tag.to_owned()),
            ("nums", nums.join(",")),
            ("attempts", self.effort.attempts.to_string()),
            ("conflicts", self.effort.conflicts.to_string()),
        ]
    }

    fn from_fields(fields: &HashMap<String, String>, lines: usize) -> Result<Self, StoreError> {
        let num = |name: &str| {
            field(fields, name)?
                .parse::<i64>()
                .map_err(|_| StoreError::Protocol(format!("stored {name} is not a number")))
        };
        let nums = field(fields, "nums")?;
        let nums: Vec<i64> = nums
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| StoreError::Protocol("stored nums are not numbers".into()))?;
        Ok(Self {
            reference: field(fields, "ref")?.to_owned(),
            expires_at: num("exp")?,
            outcome: Outcome::decode(field(fields, "tag")?, &nums, lines)?,
            effort: Effort {
                attempts: num("attempts")? as u32,
                conflicts: num("conflicts")? as u32,
            },
        })
    }
}

/// A take that went through: what each line left, and the ids to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Taken {
    /// The order or reservation id.
    pub reference: String,
    /// The reservation's deadline (0 for orders).
    pub expires_at: i64,
    /// `available` after each line, in cart order.
    pub remaining: Vec<i64>,
    pub effort: Effort,
}

impl Receipt {
    /// The answer this receipt stands for: taken, or the refusal naming the lines.
    pub fn into_taken(self, items: &CartItems) -> Result<Taken, Error> {
        let lines = items.lines();
        match self.outcome {
            Outcome::Taken(remaining) => Ok(Taken {
                reference: self.reference,
                expires_at: self.expires_at,
                remaining,
                effort: self.effort,
            }),
            Outcome::UnknownSku(i) => Err(Error::unknown_sku(lines[i].sku.as_str())),
            Outcome::Short(short) => Err(Error::InsufficientStock(
                short
                    .into_iter()
                    .map(|(i, available)| Shortage {
                        sku: lines[i].sku.clone(),
                        available,
                        requested: lines[i].quantity.get(),
                    })
                    .collect(),
            )),
        }
    }
}

/// How one take settles against a level and whatever its idempotency slot held.
pub(crate) enum Settled {
    /// Commit these writes; the receipt is the answer.
    Commit { writes: Vec<Cmd>, receipt: Receipt },
    /// Answered before: nothing to write.
    Replay(Receipt),
    /// Refused with nothing to store (no idempotency key, or the key was reused).
    Refused(Error),
}

/// Sells a cart as a new order (purchase or checkout): builds the order once, then takes.
/// A replayed take answers with the first order's id, and writes nothing.
pub(crate) async fn sell(
    store: &Store,
    strategy: Strategy,
    items: &CartItems,
    user: &UserId,
    source: OrderSource,
    idem: Option<&Idempotency>,
) -> Result<(OrderId, Taken), Error> {
    let order_id = OrderId::generate();
    let at_ms = now_ms();
    let order = Order {
        order_id: order_id.to_string(),
        user_id: user.as_str().to_owned(),
        items: OrderLine::of(items),
        created_at: at_ms,
        source,
        reservation_id: None,
    };
    let kind = match source {
        OrderSource::Purchase => "purchase",
        OrderSource::Checkout | OrderSource::Reservation => "checkout",
    };
    let take = Take {
        store: store.clone(),
        items: items.clone(),
        kind,
        reference: order_id.to_string(),
        record: Record::Order {
            key: store.keys().order(&order_id),
            json: serde_json::to_string(&order).expect("order serializes"),
        },
        at_ms,
        idem: idem.map(|i| Slot::new(store, kind, i)),
        deadline: store.deadline(),
    };
    let taken = take.run(strategy).await?;
    let order_id = OrderId::parse(&taken.reference)
        .ok_or_else(|| StoreError::Protocol(format!("stored order id {:?} is not one of ours", taken.reference)))?;
    Ok((order_id, taken))
}

impl Take {
    fn destination(&self) -> &'static str {
        match self.record {
            Record::Order { .. } => "sold",
            Record::Reservation { .. } => "reserved",
        }
    }

    fn expires_at(&self) -> i64 {
        match self.record {
            Record::Order { .. } => 0,
            Record::Reservation { expires_at, .. } => expires_at,
        }
    }

    /// Runs the take under `strategy`. On `watch`, takes go through the store's group
    /// commit unless batching is off.
    pub async fn run(self, strategy: Strategy) -> Result<Taken, Error> {
        let started = tokio::time::Instant::now();
        let (store, items, kind) = (self.store.clone(), self.items.clone(), self.kind);
        let (receipt, effort) = match strategy {
            Strategy::Watch if store.config().batching => {
                (store.above::<super::combine::Combiner>().submit(self).await, None)
            }
            Strategy::Watch => {
                let (receipt, effort, _) = super::answer(txn::run_until(&store, &self, self.deadline).await, |r| r);
                (receipt, effort)
            }
            Strategy::Lua => (self.run_lua().await, None),
            Strategy::Broken => (self.run_broken().await, None),
        };
        let effort = receipt.as_ref().ok().map(|r| r.effort).or(effort);
        let taken = receipt.and_then(|r| r.into_taken(&items));
        super::finished(&store, kind, strategy.as_str(), started, &taken, effort, || {
            items.lines().iter().map(|l| l.sku.clone()).collect()
        });
        taken
    }

    /// One script call on the shared multiplexed connection; `redis::Script` reloads the
    /// script transparently after NOSCRIPT (a restart or SCRIPT FLUSH).
    async fn run_lua(&self) -> Result<Receipt, Error> {
        let keys = self.store.keys();
        let lines = self.items.lines();
        let mut inv = TAKE_SCRIPT.prepare_invoke();
        for line in lines {
            inv.key(keys.stock(&line.sku));
        }
        for line in lines {
            inv.key(keys.movements(&line.sku));
        }
        let (mode, record_key) = match &self.record {
            Record::Order { key, .. } => ("order", key),
            Record::Reservation { key, .. } => ("reservation", key),
        };
        inv.key(record_key).key(keys.expiry());
        let (fp, retention) = match &self.idem {
            Some(slot) => {
                let (key, fp, retention) = slot.script_args();
                inv.key(key);
                (fp, retention)
            }
            None => ("", 0),
        };
        inv.arg(lines.len())
            .arg(self.destination())
            .arg(self.kind)
            .arg(&self.reference)
            .arg(self.at_ms)
            .arg(self.store.config().movements_maxlen)
            .arg(mode)
            .arg(self.expires_at())
            .arg(fp)
            .arg(retention);
        for line in lines {
            inv.arg(line.quantity.get());
        }
        match &self.record {
            Record::Order { json, .. } => {
                inv.arg(json);
            }
            Record::Reservation { fields, .. } => {
                inv.arg(fields);
            }
        }
        let mut conn = self.store.shared();
        let invoke = async {
            // redis-rs answers NOSCRIPT with SCRIPT LOAD and a second EVALSHA; a SCRIPT FLUSH
            // in between makes that one fail too. NOSCRIPT means the script did not run, so
            // trying again is safe.
            let mut tries = 0;
            loop {
                match inv.invoke_async::<Vec<Value>>(&mut conn).await {
                    Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) && tries < 5 => {
                        tries += 1;
                    }
                    other => return other,
                }
            }
        };
        let reply: Vec<Value> = Store::bounded(self.deadline, invoke).await?;
        self.script_receipt(reply)
    }

    fn script_receipt(&self, reply: Vec<Value>) -> Result<Receipt, Error> {
        let mut it = reply.into_iter();
        let tag: String = match it.next() {
            Some(v) => redis::from_redis_value(v).map_err(StoreError::from)?,
            None => return Err(StoreError::Protocol("take.lua: empty reply".into()).into()),
        };
        match tag.as_str() {
            "key_reused" => Err(Error::IdempotencyKeyReused),
            "replay" => {
                let flat: Vec<String> = it
                    .map(redis::from_redis_value)
                    .collect::<Result<_, _>>()
                    .map_err(StoreError::from)?;
                let fields = flat
                    .chunks(2)
                    .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()));
                Ok(Receipt::from_fields(&fields.collect(), self.items.lines().len())?)
            }
            tag => {
                let nums: Vec<i64> = it
                    .map(redis::from_redis_value)
                    .collect::<Result<_, _>>()
                    .map_err(StoreError::from)?;
                Ok(self.receipt(
                    Outcome::decode(tag, &nums, self.items.lines().len())?,
                    Effort {
                        attempts: 1,
                        conflicts: 0,
                    },
                ))
            }
        }
    }

    /// Check-then-act, deliberately: read, pause, then write what was decided from a read
    /// that other buyers have already made stale. The same read and decision as `watch`;
    /// the only thing missing is the WATCH.
    async fn run_broken(&self) -> Result<Receipt, Error> {
        let deadline = self.deadline;
        let mut conn = self.store.shared();
        let mut read = redis::pipe();
        self.read(&mut read);
        let snapshot: Vec<Value> = Store::bounded(deadline, read.query_async(&mut conn)).await?;
        // Think times vary in real code; a fixed pause would let buyers run in lockstep
        // rounds that happen to land exactly on zero and hide the race.
        let think = self
            .store
            .config()
            .broken_think_time
            .mul_f64(rand::random_range(0.75..1.25));
        tokio::time::sleep(think).await;
        let (levels, recalled) = self.split(snapshot)?;
        let effort = Effort {
            attempts: 1,
            conflicts: 0,
        };
        match self.settle(&levels, recalled, effort) {
            Settled::Commit { writes, receipt } => {
                let mut act = redis::pipe();
                act.atomic();
                for cmd in writes {
                    act.add_command(cmd).ignore();
                }
                let _: () = Store::bounded(deadline, act.query_async(&mut conn)).await?;
                Ok(receipt)
            }
            Settled::Replay(receipt) => Ok(receipt),
            Settled::Refused(e) => Err(e),
        }
    }

    fn receipt(&self, outcome: Outcome, effort: Effort) -> Receipt {
        Receipt {
            reference: self.reference.clone(),
            expires_at: self.expires_at(),
            outcome,
            effort,
        }
    }

    /// The stock key of each line, in cart order.
    pub(crate) fn stock_keys(&self) -> Vec<String> {
        self.items
            .lines()
            .iter()
            .map(|l| self.store.keys().stock(&l.sku))
            .collect()
    }

    /// Splits this take's read: `available` per line, then the idempotency slot if any.
    /// A reused key is an error here, like a read that does not decode.
    pub(crate) fn split(&self, snapshot: Vec<Value>) -> Result<(Vec<Option<i64>>, Recalled), Error> {
        let n = self.items.lines().len();
        let mut it = snapshot.into_iter();
        let levels = it
            .by_ref()
            .take(n)
            .map(redis::from_redis_value)
            .collect::<Result<Vec<Option<i64>>, _>>()
            .map_err(StoreError::from)?;
        Ok((levels, self.recall(it.next())?))
    }

    /// Decodes this take's slot from its read (fresh when it has no key).
    pub(crate) fn recall(&self, stored: Option<Value>) -> Result<Recalled, Error> {
        match (&self.idem, stored) {
            (None, _) => Ok(Recalled::Fresh),
            (Some(slot), Some(v)) => slot.recall(v),
            (Some(_), None) => Err(StoreError::Protocol("idempotency read missing".into()).into()),
        }
    }

    /// Settles this take against `available` per line (in cart order).
    pub(crate) fn settle(&self, levels: &[Option<i64>], recalled: Recalled, effort: Effort) -> Settled {
        if let Recalled::Replay(fields) = recalled {
            return match Receipt::from_fields(&fields, self.items.lines().len()) {
                Ok(r) => Settled::Replay(r),
                Err(e) => Settled::Refused(e.into()),
            };
        }
        let outcome = match self.check(levels) {
            Ok(o) => o,
            Err(e) => return Settled::Refused(e),
        };
        let receipt = self.receipt(outcome, effort);
        let mut writes = match (&receipt.outcome, &self.idem) {
            (Outcome::Taken(_), _) => self.writes(),
            (_, Some(_)) => Vec::new(),
            (_, None) => {
                let refusal = receipt.into_taken(&self.items).err();
                return Settled::Refused(refusal.expect("a refusal outcome renders an error"));
            }
        };
        if let Some(slot) = &self.idem {
            writes.extend(slot.remember(&receipt.fields()));
        }
        Settled::Commit { writes, receipt }
    }

    /// The decision: every SKU exists and has enough, given `available` per line.
    pub(crate) fn check(&self, available: &[Option<i64>]) -> Result<Outcome, Error> {
        let lines = self.items.lines();
        if available.len() != lines.len() {
            return Err(StoreError::Protocol("read returned the wrong number of replies".into()).into());
        }
        if let Some(missing) = available.iter().position(Option::is_none) {
            return Ok(Outcome::UnknownSku(missing));
        }
        let available: Vec<i64> = available.iter().flatten().copied().collect();
        let short: Vec<(usize, i64)> = lines
            .iter()
            .zip(&available)
            .enumerate()
            .filter(|(_, (l, a))| **a < l.quantity.get())
            .map(|(i, (_, a))| (i, *a))
            .collect();
        if !short.is_empty() {
            return Ok(Outcome::Short(short));
        }
        Ok(Outcome::Taken(
            lines
                .iter()
                .zip(&available)
                .map(|(l, a)| a - l.quantity.get())
                .collect(),
        ))
    }

    /// The writes of an accepted take. They do not depend on the levels read (counters move
    /// by increments), which is what lets a group commit queue many takes in one MULTI.
    fn writes(&self) -> Vec<Cmd> {
        let lines = self.items.lines();
        let mut writes: Vec<Cmd> = Vec::with_capacity(lines.len() * 3 + 2);
        for line in lines {
            let key = self.store.keys().stock(&line.sku);
            let q = line.quantity.get();
            writes.push(redis::cmd("HINCRBY").arg(&key).arg("available").arg(-q).to_owned());
            writes.push(
                redis::cmd("HINCRBY")
                    .arg(&key)
                    .arg(self.destination())
                    .arg(q)
                    .to_owned(),
            );
            writes.push(movement_cmd(
                &self.store,
                &line.sku,
                self.kind,
                q,
                &self.reference,
                self.at_ms,
            ));
        }
        match &self.record {
            Record::Order { key, json } => writes.push(redis::cmd("SET").arg(key).arg(json).to_owned()),
            Record::Reservation {
                key,
                expires_at,
                fields,
            } => {
                writes.push(redis::cmd("HSET").arg(key).arg(fields).to_owned());
                writes.push(
                    redis::cmd("ZADD")
                        .arg(self.store.keys().expiry())
                        .arg(expires_at)
                        .arg(&self.reference)
                        .to_owned(),
                );
            }
        }
        writes
    }
}

impl Optimistic for Take {
    /// `available` of each line (nil: unknown SKU), then the idempotency slot if any.
    type Snapshot = Vec<Value>;
    /// The committed answer.
    type Output = Receipt;
    /// A replay (`Ok`) or a refusal with nothing written (`Err`).
    type Rejection = Result<Receipt, Error>;

    fn watch_keys(&self) -> Vec<String> {
        let mut keys = self.stock_keys();
        keys.extend(self.idem.as_ref().map(|s| s.key.clone()));
        keys
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        for line in self.items.lines() {
            pipe.cmd("HGET")
                .arg(self.store.keys().stock(&line.sku))
                .arg("available");
        }
        if let Some(slot) = &self.idem {
            slot.read(pipe);
        }
    }

    fn decide(&self, snapshot: Vec<Value>, attempt: u32) -> Result<Plan<Receipt>, Self::Rejection> {
        let (levels, recalled) = self.split(snapshot).map_err(Err)?;
        let effort = Effort {
            attempts: attempt,
            conflicts: attempt - 1,
        };
        match self.settle(&levels, recalled, effort) {
            Settled::Commit { writes, receipt } => Ok(Plan {
                writes,
                output: receipt,
            }),
            Settled::Replay(receipt) => Err(Ok(receipt)),
            Settled::Refused(e) => Err(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_their_encoding() {
        for outcome in [
            Outcome::Taken(vec![3, 0]),
            Outcome::UnknownSku(1),
            Outcome::Short(vec![(0, 2), (1, -1)]),
        ] {
            let (tag, nums) = outcome.encode();
            assert_eq!(Outcome::decode(tag, &nums, 2).unwrap(), outcome);
        }
        assert!(Outcome::decode("unknown_sku", &[3], 2).is_err(), "line out of range");
        assert!(Outcome::decode("ok", &[1], 2).is_err(), "one number per line");
        assert!(Outcome::decode("what", &[], 2).is_err());
    }
}
