//! Where the buyers go: the library in this process, or a running server over HTTP.

use super::stocking::{stock_library, stock_requests};
use super::{HOLD, Op, Workload};
use crate::ToolError;
use crate::convert;
use crate::domain::{Available, CartItems, Quantity, Sku, Strategy, UserId};
use crate::ops::{self, Inventory};
use crate::outcome::Effort;
use crate::race::{Answer, Outcome};
use crate::store::{Stats, Store, StoreConfig};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The system under test.
#[allow(clippy::large_enum_variant, reason = "one per bench run; boxing buys nothing")]
#[derive(Debug)]
pub enum Driver {
    /// Calls the library directly on this Redis, with these settings (a fresh key prefix is
    /// used for each strategy).
    Library {
        /// One Redis or a cluster.
        redis: crate::store::Target,
        /// Retry, batching and pool settings to measure.
        config: StoreConfig,
        /// With a ledger: a projector follows each run into this PostgreSQL, measured too.
        ledger: Option<crate::ledger::LedgerConfig>,
        /// Leave each run's keys in Redis (`bench --keep`), to measure what reads them.
        keep: bool,
        /// How long reservations hold (`bench --hold-ttl-s`; short ones feed the expiry worker).
        hold: crate::domain::TtlSeconds,
    },
    /// POSTs to a running `stockwatch serve`.
    Http {
        /// `http://host:port`.
        base: String,
        /// Sent as `Authorization: Bearer` when setting stock.
        admin_token: Option<SecretString>,
        /// Shared keep-alive client.
        client: reqwest::Client,
    },
}

/// One strategy's run, set up with fresh stock.
pub(super) struct Prepared {
    strategy: Strategy,
    /// Parsed once, not per call: the hot loop should measure Redis, not parsing.
    user: UserId,
    one: Quantity,
    op: Op,
    stock: i64,
    skus: Vec<Sku>,
    /// Each SKU's index, to file the levels an answer names by SKU.
    index: HashMap<String, u32>,
    target: Target,
    /// Leave the keys when done.
    keep: bool,
    /// How long a reservation holds.
    hold: crate::domain::TtlSeconds,
    /// Customers the buyers are (`Workload::customers`).
    customers: u64,
    /// Whether every SKU has a waiting room, so each take carries an admission.
    queue: bool,
}

enum Target {
    Library(Inventory),
    Http { base: String, client: reqwest::Client },
}

impl Driver {
    /// A driver for the library on `redis`: no ledger, keys cleaned up, 10-minute holds.
    pub fn library(redis: crate::store::Target, config: StoreConfig) -> Self {
        Self::Library {
            redis,
            config,
            ledger: None,
            keep: false,
            hold: HOLD,
        }
    }

    /// A driver for a running server.
    pub fn http(base: &str, admin_token: Option<SecretString>) -> Self {
        Self::Http {
            base: base.trim_end_matches('/').to_owned(),
            admin_token,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(1024)
                .build()
                .expect("http client"),
        }
    }

    /// Sets fresh stock on fresh SKUs (or a fresh prefix) for one strategy.
    pub(super) async fn prepare(&self, strategy: Strategy, w: &Workload) -> Result<Prepared, ToolError> {
        let run = format!("{:x}", rand::random::<u32>());
        let available = Available::parse(&json!(w.stock), "stock")?;
        let target = match self {
            Self::Library { redis, config, .. } => {
                // The bench measures the engine; the feed's reads and publishes are the
                // service's cost, measured over HTTP.
                let mut config = config.clone();
                (config.key_prefix, config.publish_events) = (format!("bench-{run}-{}", strategy.as_str()), false);
                let store = Inventory::new(Store::connect(redis, config)?);
                // As `serve` does at start: a fresh prefix has nothing to convert, and a
                // marked store lets a `lua` take skip the settings of plain SKUs.
                ops::settings_mark::upgrade(&store).await?;
                Target::Library(store)
            }
            Self::Http { base, client, .. } => Target::Http {
                base: base.clone(),
                client: client.clone(),
            },
        };
        let prefix = match self {
            Self::Library { .. } => String::new(),
            Self::Http { .. } => format!("b{run}-{}-", strategy.as_str()),
        };
        let skus: Vec<Sku> = (0..w.skus)
            .map(|i| Sku::parse(&format!("{prefix}sku{i}")))
            .collect::<Result<_, _>>()?;
        let target_ref = &target;
        let results: Vec<Result<(), ToolError>> = futures_util::stream::iter(skus.iter())
            .map(|sku| async move {
                match (target_ref, self) {
                    (Target::Library(store), _) => stock_library(store, sku, w, available).await,
                    (Target::Http { base, client }, Self::Http { admin_token, .. }) => {
                        for (path, body) in stock_requests(sku, w) {
                            let mut req = client.put(format!("{base}{path}")).json(&body);
                            if let Some(t) = admin_token {
                                req = req.bearer_auth(t.expose_secret());
                            }
                            match req.send().await {
                                Ok(r) if r.status().is_success() => {}
                                Ok(r) => return Err(format!("setting stock: HTTP {}", r.status()).into()),
                                Err(e) => return Err(format!("setting stock: {e}").into()),
                            }
                        }
                        Ok(())
                    }
                    _ => unreachable!("target matches driver"),
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), ToolError>>()?;
        Ok(Prepared {
            strategy,
            user: UserId::parse(&json!("bench"))?,
            one: Quantity::parse(&json!(1), "quantity")?,
            op: w.op,
            stock: w.stock,
            index: skus
                .iter()
                .enumerate()
                .map(|(i, s)| (s.to_string(), convert::u32_of(i)))
                .collect(),
            skus,
            target,
            keep: matches!(self, Self::Library { keep: true, .. }),
            hold: match self {
                Self::Library { hold, .. } => *hold,
                Self::Http { .. } => HOLD,
            },
            customers: w.customers,
            queue: w.queue,
        })
    }
}

impl Prepared {
    /// The store's effort counters (library mode).
    pub(super) fn effort_counter(&self) -> Option<Stats> {
        match &self.target {
            Target::Library(store) => Some(store.stats()),
            Target::Http { .. } => None,
        }
    }

    /// The store's effort counters as Redis answers each attempt (library mode).
    pub(super) fn live_counter(&self) -> Option<Stats> {
        match &self.target {
            Target::Library(store) => Some(store.live_stats()),
            Target::Http { .. } => None,
        }
    }

    /// Redis's CPU seconds so far, summed over every node (library mode; `None` over HTTP,
    /// where the bench does not know the server's Redis, or when INFO fails).
    pub(super) async fn redis_cpu_s(&self) -> Option<f64> {
        match &self.target {
            Target::Library(store) => store.redis_cpu_seconds().await.ok(),
            Target::Http { .. } => None,
        }
    }

    /// Group commits so far on `strategy`, and the takes they carried (library mode).
    pub(super) fn group_commits(&self, strategy: Strategy) -> Option<(u64, u64)> {
        match &self.target {
            Target::Library(store) => Some(store.metrics().group_commits(strategy.as_str())),
            Target::Http { .. } => None,
        }
    }

    /// One buyer's call on the SKUs at these indexes; `buyer` counts from 0.
    pub(super) async fn call(&self, cart: &[usize], buyer: u64) -> Answer {
        let user = match self.customers {
            0 => std::borrow::Cow::Borrowed(&self.user),
            n => std::borrow::Cow::Owned(UserId::try_from(format!("c{}", buyer % n)).expect("a valid user id")),
        };
        match &self.target {
            Target::Library(store) => self.call_library(store, cart, &user).await,
            // Boxed: an HTTP client's future is large, and each buyer's call is moved into
            // its timer; inline, a library run would copy it for every call.
            Target::Http { base, client } => Box::pin(self.call_http(base, client, cart, &user)).await,
        }
    }

    async fn call_library(&self, store: &Inventory, cart: &[usize], user: &UserId) -> Answer {
        let one = self.one;
        // With waiting rooms, each take carries an admission to its SKUs, as a request's
        // `Admission` header would, verified.
        let admitted;
        let store = match self.queue {
            false => store,
            true => {
                admitted = store.with_admissions(crate::domain::Admissions {
                    presented: true,
                    valid: cart.iter().map(|i| (self.skus[*i].clone(), i64::MAX)).collect(),
                });
                &admitted
            }
        };
        let index = |sku: &Sku| self.index.get(sku.as_str()).copied().unwrap_or(u32::MAX);
        let lines = |items: &[ops::CheckoutLine]| -> Vec<(u32, i64)> {
            items.iter().map(|l| (index(&l.sku), l.remaining)).collect()
        };
        match self.op {
            Op::Purchase => {
                let sku = &self.skus[cart[0]];
                let result = ops::purchase(store, self.strategy, sku, one, user, None).await;
                let sku_index = convert::u32_of(cart[0]);
                Answer::library(&result, |p| (p.effort, vec![(sku_index, p.remaining)]), index)
            }
            Op::Checkout => {
                let items = CartItems::parse(Some(&self.items_json(cart))).expect("valid cart");
                let result = ops::checkout(store, self.strategy, &items, user, None).await;
                Answer::library(&result, |c| (c.effort, lines(&c.items)), index)
            }
            Op::Reserve => {
                let items = CartItems::parse(Some(&self.items_json(cart))).expect("valid cart");
                let result = ops::reserve(store, self.strategy, &items, user, self.hold, None).await;
                Answer::library(&result, |r| (r.effort, lines(&r.items)), index)
            }
        }
    }

    async fn call_http(&self, base: &str, client: &reqwest::Client, cart: &[usize], user: &UserId) -> Answer {
        let strategy = self.strategy.as_str();
        let (path, body) = match self.op {
            Op::Purchase => (
                "purchases",
                json!({"sku": self.skus[cart[0]], "quantity": 1, "user_id": user}),
            ),
            Op::Checkout => ("checkouts", json!({"user_id": user, "items": self.items_json(cart)})),
            Op::Reserve => (
                "reservations",
                json!({"user_id": user, "items": self.items_json(cart), "ttl_seconds": 600}),
            ),
        };
        let failed = || Answer::new(Outcome::Failed, Effort::of(1, 0), Vec::new());
        let Ok(resp) = client
            .post(format!("{base}/v1/{path}?strategy={strategy}"))
            .json(&body)
            .send()
            .await
        else {
            return failed();
        };
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let attempts = convert::u32_of(body["attempts"].as_u64().unwrap_or(1));
        // The levels the answer names: `remaining` on a 201, `available` of short lines on a 409.
        let levels = |field: &str| -> Vec<(u32, i64)> {
            let named = |line: &Value| Some((*self.index.get(line["sku"].as_str()?)?, line[field].as_i64()?));
            match body["items"].as_array() {
                Some(lines) => lines.iter().filter_map(named).collect(),
                None => named(&body).into_iter().collect(),
            }
        };
        match (status, body["error"].as_str()) {
            (201, _) => Answer::new(
                Outcome::Success,
                Effort::of(attempts, convert::u32_of(body["conflicts"].as_u64().unwrap_or(0))),
                levels("remaining"),
            ),
            (409, Some("insufficient_stock")) => {
                Answer::new(Outcome::Rejected, Effort::refused_after(attempts), levels("available"))
            }
            (503, Some("contention")) => Answer::new(Outcome::GaveUp, Effort::gave_up_after(attempts), Vec::new()),
            (409 | 403, Some("limit_exceeded" | "not_on_sale" | "admission_required" | "admission_invalid")) => {
                Answer::new(Outcome::Limited, Effort::of(1, 0), Vec::new())
            }
            _ => failed(),
        }
    }

    fn items_json(&self, cart: &[usize]) -> Value {
        Value::Array(
            cart.iter()
                .map(|i| json!({"sku": self.skus[*i], "quantity": 1}))
                .collect(),
        )
    }

    /// Units taken beyond the stock that existed, summed over SKUs, read back from Redis;
    /// and, in library mode, whether every invariant holds (orders included).
    pub(super) async fn audit(&self) -> Result<(i64, Option<bool>), ToolError> {
        let mut oversold = 0;
        for sku in &self.skus {
            let (reserved, sold) = match &self.target {
                Target::Library(store) => {
                    let s = ops::get_stock(store, sku).await?;
                    (s.reserved, s.sold)
                }
                Target::Http { base, client } => {
                    let s: Value = client.get(format!("{base}/v1/skus/{sku}")).send().await?.json().await?;
                    (s["reserved"].as_i64().unwrap_or(0), s["sold"].as_i64().unwrap_or(0))
                }
            };
            oversold += (reserved + sold - self.stock).max(0);
        }
        let verified = match &self.target {
            Target::Library(store) => Some(ops::verify(store).await?.ok),
            Target::Http { .. } => None,
        };
        Ok((oversold, verified))
    }

    /// The run's store (library mode).
    pub(super) fn store(&self) -> Option<&Inventory> {
        match &self.target {
            Target::Library(store) => Some(store),
            Target::Http { .. } => None,
        }
    }

    /// Deletes this run's keys (library mode), so repeated runs do not fill Redis.
    pub(super) async fn clean_up(&self) {
        let Target::Library(store) = &self.target else { return };
        if self.keep {
            eprintln!(
                "{}: kept its keys under --key-prefix {}",
                self.strategy.as_str(),
                store.keys().prefix()
            );
            return;
        }
        // One UNLINK per key: on a cluster, one step's keys span slots.
        let mut walk = crate::store::KeyScan::new(store, &format!("{}:*", store.keys().prefix()), 1000);
        while let Ok(Some(keys)) = walk.next().await {
            let unlink = keys.iter().map(|k| redis::cmd("UNLINK").arg(k).to_owned()).collect();
            let _: Result<Vec<i64>, _> = store.read_all(unlink).await;
        }
    }
}
