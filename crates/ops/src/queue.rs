//! A SKU's waiting room (a drop's `"queue"` setting, `crate::sale`): customers join for a
//! ticket, and are admitted at the room's pace on Redis's clock, in ticket order.
//!
//! No worker runs it. A ticket's place decides the instant it is admitted (`lua/queue_join.lua`
//! writes it): an early arrival (before `opens_at`) has a random place below 1 and is
//! admitted at `opens_at` plus its rank among the early ones times the interval; a later one
//! is stored at its admission instant. So a ticket's state is a read: waiting before that
//! instant, admitted for `admission_ttl_s` after it, expired then, and sold out once the SKU
//! has nothing left to sell or hold. The admission itself is a token the server signs
//! (`crate::server::admission`), which a take checks in its transaction or script.

use crate::Inventory;
use crate::domain::{Sku, Ticket, UserId};
use crate::error::{Error, StoreError};
use crate::level::Level;
use crate::store::Store;
use redis::Value;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::LazyLock;

static JOIN: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(include_str!("lua/queue_join.lua")));

/// Where a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Not yet admitted.
    Waiting,
    /// Admitted: the customer may take until `expires_at`, with the admission.
    Admitted,
    /// The admission's window passed.
    Expired,
    /// The SKU has nothing left to sell or hold: nobody waits for nothing.
    SoldOut,
}

/// A ticket, as `POST …/queue` and `GET …/queue/{ticket}` answer it (the server adds the
/// signed admission while it is admitted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketStatus {
    /// The ticket.
    pub ticket: Ticket,
    /// Where it is.
    pub state: TicketState,
    /// While waiting after the opening: 1 for the next one admitted. `None` before the
    /// opening (the early arrivals are shuffled then) and once no longer waiting.
    pub position: Option<u64>,
    /// While admitted: when the admission ends (epoch ms, Redis's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Whose it is.
    #[serde(skip)]
    pub user: UserId,
    /// Whether this call made it (`false`: the customer's ticket from before).
    #[serde(skip)]
    pub new: bool,
}

/// Joins `sku`'s waiting room as `user`: a new ticket, or the one the customer has.
pub async fn join(store: &Inventory, sku: &Sku, user: &UserId) -> Result<TicketStatus, Error> {
    let keys = store.keys();
    let fresh = Ticket::generate();
    // A random place below 1 (never 0 or 1 itself) for an early arrival.
    let place = (f64::from(rand::random::<u32>()) + 1.0) / (f64::from(u32::MAX) + 2.0);
    let mut call = JOIN.prepare_invoke();
    call.key(keys.stock(sku))
        .key(keys.queue(sku))
        .key(keys.tickets(sku))
        .arg(user.as_str())
        .arg(fresh.as_str())
        .arg(format!("{place:.12}"));
    let mut conn = store.shared();
    let reply: Vec<String> = Store::bounded(store.deadline(), call.invoke_async(&mut conn)).await?;
    let (tag, ticket) = match reply.as_slice() {
        [tag] => (tag.as_str(), None),
        [tag, ticket] => (tag.as_str(), Ticket::parse(ticket)),
        _ => ("", None),
    };
    let new = tag == "new";
    match (tag, ticket) {
        ("unknown_sku", _) => Err(Error::unknown_sku(sku)),
        ("no_queue", _) => Err(Error::NoQueue { sku: sku.clone() }),
        ("new" | "joined", Some(ticket)) => {
            if new {
                store.metrics().drops.tickets.inc();
            }
            Ok(TicketStatus {
                new,
                ..status(store, sku, &ticket).await?
            })
        }
        _ => Err(StoreError::Protocol(format!("queue_join.lua replied {reply:?}").into()).into()),
    }
}

/// A ticket's state now; `unknown_ticket` for a ticket `sku`'s room never gave.
pub async fn status(store: &Inventory, sku: &Sku, ticket: &Ticket) -> Result<TicketStatus, Error> {
    let keys = store.keys();
    let (queue, tickets) = (keys.queue(sku), keys.tickets(sku));
    let read = vec![
        redis::cmd("HGET").arg(&tickets).arg(format!("t:{ticket}")).to_owned(),
        redis::cmd("ZSCORE").arg(&queue).arg(ticket.as_str()).to_owned(),
        redis::cmd("ZRANK").arg(&queue).arg(ticket.as_str()).to_owned(),
        redis::cmd("ZCOUNT").arg(&queue).arg(0).arg("(1").to_owned(),
        redis::cmd("HGETALL").arg(keys.stock(sku)).to_owned(),
        redis::cmd("TIME").to_owned(),
    ];
    type Read = (
        Option<String>,
        Option<f64>,
        Option<u64>,
        u64,
        HashMap<String, String>,
        (i64, i64),
    );
    let replies: Vec<Value> = store.read_all(read).await?;
    let (user, score, rank, early, stock, (secs, micros)): Read =
        redis::from_redis_value(Value::Array(replies)).map_err(StoreError::from)?;
    let (Some(user), Some(score), Some(rank)) = (user, score, rank) else {
        return Err(Error::UnknownTicket);
    };
    let user = UserId::try_from(user).map_err(|_| StoreError::Protocol("a ticket's customer is corrupt".into()))?;
    let now = secs * 1000 + micros / 1000;
    let level = Level::parse(sku, &stock)?;
    let answer = |state, position, expires_at| TicketStatus {
        ticket: ticket.clone(),
        state,
        position,
        expires_at,
        user: user.clone(),
        new: false,
    };
    let Some(terms) = level.as_ref().and_then(|l| l.sale).and_then(|s| s.queue) else {
        // The room was closed (or the SKU retired): nothing left to wait for.
        return Ok(answer(TicketState::SoldOut, None, None));
    };
    let level = level.expect("a level with a sale");
    if level.totals.sellable() <= 0 && level.totals.reserved <= 0 {
        return Ok(answer(TicketState::SoldOut, None, None));
    }
    let opens = level.sale.and_then(|s| s.opens_at).map(|t| t.millis());
    if opens.is_some_and(|o| now < o) {
        return Ok(answer(TicketState::Waiting, None, None));
    }
    // The k-th admission (from 0) of the early arrivals is at opens + k / rate.
    let rate = terms.admit_per_s.max(1);
    let admitted_at = match (score < 1.0, opens) {
        (true, Some(o)) => o + crate::convert::i64_of(rank) * 1000 / rate,
        _ => crate::convert::i64_from_f64(score.ceil()),
    };
    if now < admitted_at {
        // Early arrivals admitted so far, then the later tickets admitted before this one.
        let early_in = early_admitted(opens, now, rate, early);
        let position = if score < 1.0 {
            rank - early_in + 1
        } else {
            let ahead: u64 = store
                .query(
                    redis::cmd("ZCOUNT")
                        .arg(&queue)
                        .arg(format!("({now}"))
                        .arg(format!("({score}")),
                )
                .await?;
            early - early_in + ahead + 1
        };
        store.metrics().drops.queue_length.set(crate::convert::i64_of(position));
        return Ok(answer(TicketState::Waiting, Some(position), None));
    }
    let until = admitted_at + terms.admission_ttl_s * 1000;
    match now < until {
        true => Ok(answer(TicketState::Admitted, None, Some(until))),
        false => Ok(answer(TicketState::Expired, None, None)),
    }
}

/// How many of the `early` arrivals are admitted at `now`: one at `opens`, then one each
/// 1/`rate` seconds (`lua/queue_join.lua` places later tickets after them by the same rule).
fn early_admitted(opens: Option<i64>, now: i64, rate: i64, early: u64) -> u64 {
    match opens {
        Some(o) if now >= o => crate::convert::u64_of((now - o) * rate / 1000 + 1).min(early),
        _ => 0,
    }
}

/// A waiting room at a glance, for a shop's page or the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoomSummary {
    /// The SKU.
    #[schema(value_type = String)]
    pub sku: Sku,
    /// Redis's clock now (epoch ms): count down to `opens_at` from this, not a local clock.
    pub now: i64,
    /// Tickets handed out.
    pub tickets: u64,
    /// Of which admitted so far (their admissions may since have ended).
    pub admitted: u64,
    /// Of which still waiting.
    pub waiting: u64,
}

/// `sku`'s waiting room now; `no_queue` when its sale has none.
pub async fn summary(store: &Inventory, sku: &Sku) -> Result<RoomSummary, Error> {
    let keys = store.keys();
    let queue = keys.queue(sku);
    let read = vec![
        redis::cmd("ZCARD").arg(&queue).to_owned(),
        redis::cmd("ZCOUNT").arg(&queue).arg(0).arg("(1").to_owned(),
        redis::cmd("HGETALL").arg(keys.stock(sku)).to_owned(),
        redis::cmd("TIME").to_owned(),
    ];
    let replies: Vec<Value> = store.read_all(read).await?;
    let (tickets, early, stock, (secs, micros)): (u64, u64, HashMap<String, String>, (i64, i64)) =
        redis::from_redis_value(Value::Array(replies)).map_err(StoreError::from)?;
    let now = secs * 1000 + micros / 1000;
    let level = Level::parse(sku, &stock)?.ok_or_else(|| Error::unknown_sku(sku))?;
    let sale = level.sale.unwrap_or_default();
    let Some(terms) = sale.queue else {
        return Err(Error::NoQueue { sku: sku.clone() });
    };
    let opens = sale.opens_at.map(|t| t.millis());
    let early_in = early_admitted(opens, now, terms.admit_per_s.max(1), early);
    let later_in: u64 = match opens.is_none_or(|o| now >= o) {
        true => store.query(redis::cmd("ZCOUNT").arg(&queue).arg(1).arg(now)).await?,
        false => 0,
    };
    let admitted = early_in + later_in;
    Ok(RoomSummary {
        sku: sku.clone(),
        now,
        tickets,
        admitted,
        waiting: tickets.saturating_sub(admitted),
    })
}
