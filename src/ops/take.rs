//! Taking stock out of `available` for a cart: the one decision behind purchases, checkouts
//! and reservations, run by any of the three strategies.

use super::{Effort, Order, OrderLine, OrderSource, movement_cmd, now_ms};
use crate::domain::{CartItems, OrderId, Strategy, UserId};
use crate::error::{Error, Shortage, StoreError};
use crate::store::Store;
use crate::txn::{self, Optimistic, Plan};
use redis::{Cmd, Value};
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
    #[allow(dead_code)]
    Reservation {
        /// Key of the reservation hash.
        key: String,
        /// Key of the expiry ZSET.
        expiry_key: String,
        /// Deadline, epoch ms: the ZSET score.
        expires_at: i64,
        /// Field/value pairs of the hash.
        fields: Vec<(String, String)>,
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
    /// When the caller stops waiting: the request's response timeout.
    pub deadline: tokio::time::Instant,
}

/// What taking left behind: `available` after each line, in cart order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Taken {
    pub remaining: Vec<i64>,
    pub effort: Effort,
}

/// Sells a cart as a new order (purchase or checkout): builds the order once, then takes.
pub(crate) async fn sell(
    store: &Store,
    strategy: Strategy,
    items: &CartItems,
    user: &UserId,
    source: OrderSource,
) -> Result<(OrderId, Taken), Error> {
    let order_id = OrderId::generate();
    let at_ms = now_ms();
    let order = Order {
        order_id: order_id.to_string(),
        user_id: user.as_str().to_owned(),
        items: items
            .lines()
            .iter()
            .map(|l| OrderLine {
                sku: l.sku.to_string(),
                quantity: l.quantity.get(),
            })
            .collect(),
        created_at: at_ms,
        source,
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
        deadline: store.deadline(),
    };
    Ok((order_id, take.run(strategy).await?))
}

impl Take {
    fn destination(&self) -> &'static str {
        match self.record {
            Record::Order { .. } => "sold",
            Record::Reservation { .. } => "reserved",
        }
    }

    /// Runs the take under `strategy`. On `watch`, single-line takes go through the
    /// store's group commit unless batching is off.
    pub async fn run(self, strategy: Strategy) -> Result<Taken, Error> {
        match strategy {
            Strategy::Watch if self.store.config().batching && self.items.lines().len() == 1 => {
                let store = self.store.clone();
                store.combiner().submit(self).await
            }
            Strategy::Watch => {
                let done = txn::run_until(&self.store, &self, self.deadline).await?;
                Ok(Taken {
                    remaining: done.output,
                    effort: Effort {
                        attempts: done.attempts,
                        conflicts: done.conflicts,
                    },
                })
            }
            Strategy::Lua => self.run_lua().await,
            Strategy::Broken => self.run_broken().await,
        }
    }

    /// One script call on the shared multiplexed connection; `redis::Script` reloads the
    /// script transparently after NOSCRIPT (a restart or SCRIPT FLUSH).
    async fn run_lua(&self) -> Result<Taken, Error> {
        let keys = self.store.keys();
        let lines = self.items.lines();
        let mut inv = TAKE_SCRIPT.prepare_invoke();
        for line in lines {
            inv.key(keys.stock(&line.sku));
        }
        for line in lines {
            inv.key(keys.movements(&line.sku));
        }
        inv.arg(lines.len())
            .arg(self.destination())
            .arg(self.kind)
            .arg(&self.reference)
            .arg(self.at_ms)
            .arg(self.store.config().movements_maxlen);
        for line in lines {
            inv.arg(line.quantity.get());
        }
        match &self.record {
            Record::Order { key, json } => {
                inv.key(key).arg("order").arg(json);
            }
            Record::Reservation {
                key,
                expiry_key,
                expires_at,
                fields,
            } => {
                inv.key(key).key(expiry_key).arg("reservation").arg(expires_at);
                for (f, v) in fields {
                    inv.arg(f).arg(v);
                }
            }
        }
        let mut conn = self.store.shared();
        let reply: Vec<Value> = Store::bounded(self.deadline, inv.invoke_async(&mut conn)).await?;
        let remaining = self.script_outcome(reply)?;
        Ok(Taken {
            remaining,
            effort: Effort {
                attempts: 1,
                conflicts: 0,
            },
        })
    }

    fn script_outcome(&self, reply: Vec<Value>) -> Result<Vec<i64>, Error> {
        let protocol = |what: &str| Error::Store(StoreError::Protocol(format!("take.lua: {what}")));
        let mut it = reply.into_iter();
        let tag: String = it
            .next()
            .map(redis::from_redis_value)
            .transpose()
            .map_err(StoreError::from)?
            .ok_or_else(|| protocol("empty reply"))?;
        let nums: Vec<i64> = it
            .map(redis::from_redis_value)
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)?;
        let line = |i: i64| {
            self.items
                .lines()
                .get((i - 1) as usize)
                .ok_or_else(|| protocol("line index out of range"))
        };
        match tag.as_str() {
            "ok" => Ok(nums),
            "unknown_sku" => Err(Error::unknown_sku(
                line(*nums.first().ok_or_else(|| protocol("no index"))?)?.sku.as_str(),
            )),
            "insufficient_stock" => Err(Error::InsufficientStock(
                nums.chunks(2)
                    .map(|c| {
                        let l = line(c[0])?;
                        Ok(Shortage {
                            sku: l.sku.clone(),
                            available: *c.get(1).unwrap_or(&0),
                            requested: l.quantity.get(),
                        })
                    })
                    .collect::<Result<_, Error>>()?,
            )),
            other => Err(protocol(other)),
        }
    }

    /// Check-then-act, deliberately: read, pause, then write what was decided from a read
    /// that other buyers have already made stale. The same read and decision as `watch`;
    /// the only thing missing is the WATCH.
    async fn run_broken(&self) -> Result<Taken, Error> {
        let deadline = self.deadline;
        let mut conn = self.store.shared();
        let mut read = redis::pipe();
        self.read(&mut read);
        let snapshot = Store::bounded(deadline, read.query_async(&mut conn)).await?;
        tokio::time::sleep(self.store.config().broken_think_time).await;
        let plan = self.decide(snapshot, 1)?;
        let mut act = redis::pipe();
        act.atomic();
        for cmd in plan.writes {
            act.add_command(cmd).ignore();
        }
        let _: () = Store::bounded(deadline, act.query_async(&mut conn)).await?;
        Ok(Taken {
            remaining: plan.output,
            effort: Effort {
                attempts: 1,
                conflicts: 0,
            },
        })
    }
}

impl Optimistic for Take {
    /// `available` of each line (nil: unknown SKU).
    type Snapshot = Vec<Option<i64>>;
    /// `available` after each line.
    type Output = Vec<i64>;
    type Rejection = Error;

    fn watch_keys(&self) -> Vec<String> {
        self.items
            .lines()
            .iter()
            .map(|l| self.store.keys().stock(&l.sku))
            .collect()
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        for line in self.items.lines() {
            pipe.cmd("HGET")
                .arg(self.store.keys().stock(&line.sku))
                .arg("available");
        }
    }

    fn decide(&self, available: Vec<Option<i64>>, _attempt: u32) -> Result<Plan<Vec<i64>>, Error> {
        let remaining = self.check(&available)?;
        Ok(Plan {
            writes: self.writes(),
            output: remaining,
        })
    }
}

impl Take {
    /// The decision: every SKU exists and has enough, given `available` per line (in cart
    /// order). Returns what each line leaves, or the refusal listing every short line.
    pub(crate) fn check(&self, available: &[Option<i64>]) -> Result<Vec<i64>, Error> {
        let lines = self.items.lines();
        if available.len() != lines.len() {
            return Err(Error::Store(StoreError::Protocol(
                "read returned the wrong number of replies".into(),
            )));
        }
        if let Some(missing) = lines.iter().zip(available).find(|(_, a)| a.is_none()) {
            return Err(Error::unknown_sku(missing.0.sku.as_str()));
        }
        let available: Vec<i64> = available.iter().flatten().copied().collect();
        let short: Vec<Shortage> = lines
            .iter()
            .zip(&available)
            .filter(|(l, a)| **a < l.quantity.get())
            .map(|(l, a)| Shortage {
                sku: l.sku.clone(),
                available: *a,
                requested: l.quantity.get(),
            })
            .collect();
        if !short.is_empty() {
            return Err(Error::InsufficientStock(short));
        }
        Ok(lines
            .iter()
            .zip(&available)
            .map(|(l, a)| a - l.quantity.get())
            .collect())
    }

    /// The writes of an accepted take. They do not depend on the levels read (counters move
    /// by increments), which is what lets a group commit queue many takes in one MULTI.
    pub(crate) fn writes(&self) -> Vec<Cmd> {
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
                expiry_key,
                expires_at,
                fields,
            } => {
                writes.push(redis::cmd("HSET").arg(key).arg(fields).to_owned());
                writes.push(
                    redis::cmd("ZADD")
                        .arg(expiry_key)
                        .arg(expires_at)
                        .arg(&self.reference)
                        .to_owned(),
                );
            }
        }
        writes
    }
}
