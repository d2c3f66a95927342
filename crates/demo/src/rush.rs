//! A rush: N buyers for one SKU at once, through one strategy, measured on what Redis holds
//! afterwards. Behind `stockwatch demo race`, the dashboard's rush panel
//! (`POST /v1/demo/rush`) and `examples/race_condition.rs`.

use crate::domain::{Available, Quantity, Sku, Strategy, UserId};
use crate::error::Error;
use crate::ops;
use crate::ops::Inventory;
use crate::race::{Answer, Call, Clock, Fairness, Outcome, Timeline, count, sampled};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

/// Most buyers one rush may launch (the dashboard's endpoint is reachable over HTTP).
pub const MAX_BUYERS: u64 = 5_000;

/// Store settings for a rush in the terminal or an example: room to retry, because 500
/// textbook WATCH buyers on one SKU conflict a lot and a give-up would hide the lesson.
pub fn race_config(key_prefix: &str, batching: bool) -> crate::store::StoreConfig {
    crate::store::StoreConfig {
        key_prefix: key_prefix.into(),
        batching,
        response_timeout: std::time::Duration::from_secs(30),
        retry: crate::retry::RetryPolicy {
            max_attempts: 200,
            max_elapsed: std::time::Duration::from_secs(20),
            ..crate::retry::RetryPolicy::default()
        },
        ..crate::store::StoreConfig::default()
    }
}

/// What a rush sets up: `stock` in the implicit location and none anywhere else, so the
/// SKU holds exactly what the rush says whatever named locations it had.
impl Rush {
    async fn set_up(&self, store: &Inventory) -> Result<(), Error> {
        let zero = Available::parse(&0.into(), "available").expect("0 is a valid level");
        let now = ops::get_stock(store, &self.sku).await;
        for place in now.iter().flat_map(|s| &s.locations) {
            if !place.location.is_default() && place.available != 0 {
                ops::set_location_stock(store, &self.sku, &place.location, zero, None, None).await?;
            }
        }
        ops::set_stock(store, &self.sku, self.stock).await?;
        Ok(())
    }
}

/// What to rush.
#[derive(Debug, Clone)]
pub struct Rush {
    /// The SKU every buyer wants one unit of.
    pub sku: Sku,
    /// Buyers, all launched at once.
    pub buyers: u64,
    /// Units the SKU is set to before the rush.
    pub stock: Available,
    /// How every buyer buys.
    pub strategy: Strategy,
}

/// How a rush ended, read back from Redis: never assumed from the answers alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RushResult {
    /// `broken`, `watch` or `lua`.
    pub strategy: String,
    /// The SKU rushed.
    pub sku: String,
    /// Buyers launched.
    pub buyers: u64,
    /// Units there were.
    pub stock: i64,
    /// Orders placed: how far `sold` moved.
    pub orders: i64,
    /// Buyers told "out of stock" (409).
    pub refused: u64,
    /// Buyers who got another error (e.g. `503 contention` after the retries ran out).
    pub errors: u64,
    /// `available` afterwards; below zero only when `broken` oversold.
    pub final_stock: i64,
    /// Orders beyond the stock there was.
    pub oversold: i64,
    /// Attempts made by all buyers (one per buyer on `lua` and `broken`).
    pub attempts: u64,
    /// Attempts aborted because another buyer changed the stock after this one's WATCH.
    pub conflicts: u64,
    /// Wall time of the whole rush.
    pub elapsed_ms: u64,
    /// Whether `watch` buyers shared group commits (off: one buyer per transaction).
    pub batching: bool,
    /// Who got the units: arrival order against who was served.
    pub fairness: Fairness,
    /// Stock, commits, attempts and conflicts over the rush, from the buyers' answers.
    pub timeline: Timeline,
}

impl Rush {
    /// Sets the stock, launches every buyer at once, waits for all, reads the outcome back.
    /// Attempts and conflicts are the store's counters across the rush, so other traffic on
    /// the same store at the same time would be counted too.
    pub async fn run(&self, store: &Inventory) -> Result<RushResult, Error> {
        self.set_up(store).await?;
        let before = ops::get_stock(store, &self.sku).await?;
        let stats = store.stats();
        let one = Quantity::parse(&1.into(), "quantity").expect("1 is a valid quantity");
        let clock = Clock::start();
        let buyers = (0..self.buyers).map(|i| {
            let user = UserId::parse(&format!("rush-buyer-{i}").into()).expect("a valid user id");
            let clock = &clock;
            async move {
                clock
                    .time(async {
                        let answer = ops::purchase(store, self.strategy, &self.sku, one, &user, None).await;
                        Answer::library(&answer, |p| (p.effort, vec![(0, p.remaining)]), |_| 0)
                    })
                    .await
            }
        });
        let counters = || {
            let s = store.live_stats();
            (s.attempts, s.conflicts)
        };
        let (calls, samples): (Vec<Call>, _) = sampled(&clock, counters, join_all(buyers)).await;
        let elapsed_ms = clock.now_us() / 1000;
        let after = ops::get_stock(store, &self.sku).await?;
        let effort = store.stats();
        let refused = count(&calls, Outcome::Rejected);
        let failed = self.buyers - count(&calls, Outcome::Success);
        let orders = after.sold - before.sold;
        Ok(RushResult {
            strategy: self.strategy.as_str().into(),
            sku: self.sku.to_string(),
            buyers: self.buyers,
            stock: before.available,
            orders,
            refused,
            errors: failed - refused,
            final_stock: after.available,
            // Against what there was, read back: never against what was asked for.
            oversold: (orders - before.available).max(0),
            attempts: effort.attempts - stats.attempts,
            conflicts: effort.conflicts - stats.conflicts,
            elapsed_ms,
            batching: store.config().batching,
            fairness: Fairness::of(&calls),
            timeline: Timeline::of(&calls, &[before.available], Some(&samples)),
        })
    }
}
