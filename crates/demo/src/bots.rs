//! Bots against people: a drop with a per-customer limit, where a few bots each fire many
//! requests at once and many people send one. On `watch` and `lua` the limit is decided in
//! the take's own transaction or script, so no bot gets past it; `broken` checks it the
//! naive way (read the count, think, write) and its bots do. Behind `stockwatch demo bots`.

use crate::domain::{Available, Quantity, Sku, Strategy, UserId};
use crate::error::Error;
use crate::ops::sale::{Change, SaleChange};
use crate::ops::{self, Inventory};
use futures_util::future::join_all;
use serde::Serialize;

/// The drop: who comes, for how much.
#[derive(Debug, Clone)]
pub struct Drop {
    /// The SKU.
    pub sku: Sku,
    /// Units in stock.
    pub stock: Available,
    /// Units one customer may take.
    pub limit: i64,
    /// Bots, each a customer of its own.
    pub bots: u64,
    /// Requests each bot fires at once.
    pub requests_per_bot: u64,
    /// People, one request each.
    pub people: u64,
    /// How every take runs.
    pub strategy: Strategy,
}

/// How a drop ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DropResult {
    /// `broken`, `watch` or `lua`.
    pub strategy: String,
    /// Units the bots got, all of them.
    pub bot_units: u64,
    /// The most units one bot got: at most the limit, unless the limit was raced past.
    pub most_per_bot: u64,
    /// People who got a unit.
    pub people_served: u64,
    /// People there were.
    pub people: u64,
    /// The limit.
    pub limit: i64,
}

impl Drop {
    /// Sets the stock and the limit, fires every request at once (bots' and people's
    /// interleaved), and counts who got what.
    pub async fn run(&self, store: &Inventory) -> Result<DropResult, Error> {
        ops::set_stock(store, &self.sku, self.stock).await?;
        let limit = SaleChange {
            per_customer_limit: Change::Set(self.limit),
            ..SaleChange::default()
        };
        ops::set_sale(store, &self.sku, limit).await?;
        let one = Quantity::parse(&1.into(), "quantity").expect("1 is a valid quantity");
        // Bots' requests first in each round, then a person: everyone arrives together.
        let mut who = Vec::new();
        let rounds = self.requests_per_bot.max(self.people);
        for r in 0..rounds {
            for b in 0..self.bots {
                if r < self.requests_per_bot {
                    who.push((true, format!("bot-{b}")));
                }
            }
            if r < self.people {
                who.push((false, format!("person-{r}")));
            }
        }
        let calls = who.into_iter().map(|(bot, name)| async move {
            let user = UserId::parse(&name.clone().into()).expect("a valid user id");
            let bought = ops::purchase(store, self.strategy, &self.sku, one, &user, None).await;
            (bot, name, bought.is_ok())
        });
        let answers = join_all(calls).await;
        let mut per_bot = std::collections::HashMap::new();
        let mut people_served = 0;
        for (bot, name, _) in answers.into_iter().filter(|a| a.2) {
            match bot {
                true => *per_bot.entry(name).or_insert(0u64) += 1,
                false => people_served += 1,
            }
        }
        ops::retire(store, &self.sku).await?;
        Ok(DropResult {
            strategy: self.strategy.as_str().into(),
            bot_units: per_bot.values().sum(),
            most_per_bot: per_bot.values().copied().max().unwrap_or(0),
            people_served,
            people: self.people,
            limit: self.limit,
        })
    }
}

/// The side-by-side table of `stockwatch demo bots`.
pub fn bots_table(drop: &Drop, results: &[DropResult]) -> String {
    let mut out = format!(
        "A drop of {} units, {} a customer: {} bots fire {} requests each, {} people one each, all at once.\n\n",
        drop.stock.get(),
        drop.limit,
        drop.bots,
        drop.requests_per_bot,
        drop.people
    );
    out.push_str(&format!(
        "{:<8} {:>9} {:>13} {:>14}\n",
        "strategy", "bot units", "most per bot", "people served"
    ));
    for r in results {
        let past = if r.most_per_bot > convert_limit(r.limit) {
            "  <- past the limit"
        } else {
            ""
        };
        out.push_str(&format!(
            "{:<8} {:>9} {:>13} {:>9} of {:<4}{past}\n",
            r.strategy, r.bot_units, r.most_per_bot, r.people_served, r.people
        ));
    }
    out
}

fn convert_limit(limit: i64) -> u64 {
    crate::convert::u64_of(limit)
}
