//! Takes as Lua script calls (`crates/ops/src/lua/take.lua`): the same decision, made inside Redis,
//! with the arguments encoded here and each reply decoded back into a [`Receipt`]. One call
//! carries a batch of takes (group commit, as on `watch`), or one take with batching off.
//!
//! The script's argument layout is declared once, in `lua_layout.rs`; `script_call` (with
//! each take's `push_keys` and `push_args`) fills each slot through an exhaustive `match`
//! over its lists.

use super::super::alerts::with_alerts;
use super::lua_layout::{
    BUYER_SEPARATOR, BatchArg, BatchKey, BuyerArg, BuyerKey, Extras, FIELD_SEPARATOR, layout_header,
};
use super::receipt::{Outcome, Receipt};
use super::{Record, Take};
use crate::convert;
use crate::domain::RecordId;
use crate::error::{Error, StoreError};
use crate::outcome::Effort;
use crate::store::Store;
use backon::{ExponentialBuilder, RetryableWithContext};
use redis::{Cmd, RedisWrite, ToRedisArgs, Value};
use std::fmt::Write;
use std::sync::LazyLock;

/// One argument: a number or a string, written as redis-rs writes either.
enum Arg<'a> {
    Int(i64),
    Str(&'a str),
    Id(RecordId),
}

impl ToRedisArgs for Arg<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        match self {
            Self::Int(n) => n.write_redis_args(out),
            Self::Str(s) => s.write_redis_args(out),
            Self::Id(id) => id.write_redis_args(out),
        }
    }
}

/// How a script call that did not run (NOSCRIPT, or a slot moving) is tried again: soon,
/// then less often, until the take's deadline, which bounds it.
const SCRIPT_RETRY: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(std::time::Duration::from_millis(2))
    .with_max_delay(std::time::Duration::from_millis(100))
    .with_jitter()
    .without_max_times();

static TAKE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        "{}{}",
        layout_header(),
        with_alerts(include_str!("../lua/take.lua"))
    ))
});

/// Runs `takes` as one script call, each decided in order against what the ones before it
/// left; one result per take, in order. All of them are in one slot (one Redis, or one
/// cluster slot), as one script's keys must be.
pub(super) async fn run_script(takes: &[Take]) -> Vec<Result<Receipt, Error>> {
    let store = &takes[0].store;
    let deadline = takes.iter().map(|t| t.deadline).min().expect("a batch is never empty");
    let call = script_call(takes);
    let invoke = {
        // A Redis that does not hold the script yet (a new one, or after SCRIPT FLUSH)
        // answers NOSCRIPT: the script is loaded and called again. A SCRIPT FLUSH in between
        // makes that call fail too. On a cluster mid-resharding, a slot that moved or is half
        // moved answers MOVED, ASK or TRYAGAIN past the client's own few tries. Each of these
        // means the script did not run, so trying again is safe; the deadline bounds it.
        let call = &call;
        (move |mut conn| async move {
            let mut reply = call.query_async::<Value>(&mut conn).await;
            if reply.as_ref().is_err_and(no_script) {
                reply = match TAKE_SCRIPT.load_async(&mut conn).await {
                    Ok(_) => call.query_async(&mut conn).await,
                    Err(e) => Err(e),
                };
            }
            (conn, reply)
        })
        .retry(SCRIPT_RETRY)
        .context(store.shared())
        .when(|e: &redis::RedisError| no_script(e) || matches!(StoreError::from(e.clone()), StoreError::Moved(_)))
    };
    let invoke = async { invoke.await.1 };
    let reply = match Store::bounded(deadline, invoke).await {
        Ok(reply) => reply,
        Err(e) => {
            store.master_lost(&e).await;
            return takes.iter().map(|_| Err(e.clone().into())).collect();
        }
    };
    let replies = match text(&reply) {
        Ok(text) => text.split(BUYER_SEPARATOR),
        Err(e) => return takes.iter().map(|_| Err(e.clone().into())).collect(),
    };
    if replies.clone().count() != takes.len() {
        let e = StoreError::Protocol(format!("take.lua: {} replies for {} takes", replies.count(), takes.len()).into());
        return takes.iter().map(|_| Err(e.clone().into())).collect();
    }
    store.metrics().attempt_answered(convert::u32_of(takes.len()), false);
    store.metrics().group_commit("lua", takes.len());
    takes
        .iter()
        .zip(replies)
        .map(|(take, reply)| take.script_receipt(reply))
        .collect()
}

/// The batch's `EVALSHA`, written straight into one command's buffer: the keys every buyer
/// shares, each buyer's keys, the batch's header, then each buyer's arguments. (redis-rs's
/// script invocation would hold each key and argument in a buffer of its own, about twenty
/// a buyer, and then copy them all into the command.)
fn script_call(takes: &[Take]) -> Cmd {
    let store = &takes[0].store;
    let keys = store.keys();
    // A batch is one slot's (one queue per slot on a cluster), so its takes share these.
    let feed_slot = store.feed_slot(takes[0].slot);
    let key_count = BatchKey::ALL.len() + takes.iter().map(Take::key_count).sum::<usize>();
    let mut call = Cmd::with_capacity(3 + key_count + takes.len() * 20, takes.len() * 512);
    call.arg("EVALSHA").arg(TAKE_SCRIPT.get_hash()).arg(key_count);
    for key in BatchKey::ALL {
        call.arg(match key {
            BatchKey::Feed => keys.ledger_feed(feed_slot),
            BatchKey::Alerts => keys.alerts(feed_slot),
            BatchKey::Low => keys.low_stock(feed_slot),
        });
    }
    for take in takes {
        take.push_keys(&mut call);
    }
    for arg in BatchArg::ALL {
        call.arg(match arg {
            BatchArg::Buyers => takes.len(),
            BatchArg::Maxlen => store.config().movements_maxlen.max(1),
            BatchArg::Marked => usize::from(store.settings_marked()),
        });
    }
    for take in takes {
        take.push_args(&mut call);
    }
    call
}

/// The script's reply, borrowed as text.
fn text(value: &Value) -> Result<&str, StoreError> {
    match value {
        Value::BulkString(bytes) => {
            std::str::from_utf8(bytes).map_err(|_| StoreError::Protocol("take.lua: a reply that is not UTF-8".into()))
        }
        Value::SimpleString(s) => Ok(s),
        other => Err(StoreError::Protocol(format!("take.lua: reply {other:?}").into())),
    }
}

/// Whether Redis did not hold the script.
fn no_script(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

impl Take {
    /// One take by itself: a batch of one (`--batching off`, and the teaching path).
    pub(super) async fn run_lua(&self) -> Result<Receipt, Error> {
        let mut results = run_script(std::slice::from_ref(self)).await;
        results.pop().expect("one result per take")
    }

    /// How many keys this take gives the script: its lines' stock and history keys, then
    /// its [`BuyerKey`]s (the idempotency key only when it has one).
    fn key_count(&self) -> usize {
        2 * self.items.lines().len() + BuyerKey::ALL.len() - usize::from(self.idem.is_none())
    }

    /// Appends this take's keys, in take.lua's layout for one buyer.
    fn push_keys(&self, call: &mut Cmd) {
        let keys = self.store.keys();
        for key in self.stock_keys() {
            call.arg(key);
        }
        for line in self.items.lines() {
            call.arg(keys.movements(&line.sku));
        }
        let record_key = match &self.record {
            Record::Order { key, .. } | Record::Reservation { key, .. } => key,
        };
        for key in BuyerKey::ALL {
            match key {
                BuyerKey::Record => call.arg(record_key),
                BuyerKey::Expiry => call.arg(keys.expiry(self.slot)),
                BuyerKey::Idempotency => match &self.idem {
                    Some(idem) => call.arg(&idem.key),
                    None => call,
                },
            };
        }
    }

    /// Appends this take's arguments, in take.lua's layout for one buyer.
    fn push_args(&self, call: &mut Cmd) {
        let lines = self.items.lines();
        let (mode, record_args) = match &self.record {
            Record::Order { .. } => ("order", 1),
            Record::Reservation { fields, .. } => ("reservation", 2 * fields.len()),
        };
        let idem = self.idem.as_ref().map(|a| a.script_args());
        let entry = self.entry.as_deref().filter(|e| !e.is_empty());
        let admissions = self.store.admissions();
        let extras = Extras {
            idempotency: idem.is_some(),
            entry: entry.is_some(),
            admission: admissions.is_some(),
        };
        for arg in BuyerArg::ALL {
            call.arg(match arg {
                BuyerArg::Lines => Arg::Int(convert::i64_of(lines.len())),
                BuyerArg::Extras => Arg::Str(extras.flags()),
                BuyerArg::RecordArgs => Arg::Int(convert::i64_of(record_args)),
                BuyerArg::Kind => Arg::Str(self.kind.as_str()),
                BuyerArg::Reference => Arg::Id(self.reference),
                BuyerArg::AtMs => Arg::Int(self.at_ms),
                BuyerArg::Mode => Arg::Str(mode),
                BuyerArg::ExpiresAt => Arg::Int(self.expires_at()),
            });
        }
        for line in lines {
            call.arg(line.quantity.get());
        }
        for line in lines {
            call.arg(line.location.as_ref().map_or("", |l| l.as_str()));
        }
        match &self.record {
            Record::Order { json, .. } => call.arg(json),
            Record::Reservation { fields, .. } => call.arg(fields),
        };
        // The extras, in the order their letters name them.
        if let Some((_, fingerprint, retention)) = idem {
            call.arg(fingerprint).arg(convert::i64_of(retention));
        }
        if let Some(entry) = entry {
            call.arg(entry);
        }
        if let Some(a) = admissions {
            // '+' says the request presented admissions, even when none of them is valid.
            let mut text = String::from("+");
            for (sku, until) in &a.valid {
                let _ = write!(text, ";{sku}:{until}");
            }
            call.arg(text);
        }
    }

    /// This take's receipt from its reply: its fields, joined by [`FIELD_SEPARATOR`].
    fn script_receipt(&self, reply: &str) -> Result<Receipt, Error> {
        let mut fields = reply.split(FIELD_SEPARATOR);
        match fields.next().unwrap_or_default() {
            "key_reused" => Err(Error::IdempotencyKeyReused),
            "replay" => {
                let flat: Vec<&str> = fields.collect();
                let stored = flat
                    .chunks(2)
                    .map(|c| (c[0].to_owned(), c.get(1).map_or_else(String::new, |v| (*v).to_owned())));
                Ok(Receipt::from_fields(
                    &stored.collect(),
                    &self.items.quantities(),
                    self.reference,
                )?)
            }
            tag => {
                // A take answers its levels, then each line's allocations.
                let n = self.items.lines().len();
                let count = if tag == "ok" { n } else { usize::MAX };
                let nums: Vec<i64> = fields
                    .by_ref()
                    .take(count)
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|_| StoreError::Protocol(format!("take.lua: reply {reply:?}").into()))?;
                // The lines' allocations as `Allocation::decode` reads them, borrowed from the
                // reply: a purchase drawn all from `default` answers '', and needs no string.
                let mut drawn = String::new();
                for (i, alloc) in fields.enumerate() {
                    if i > 0 {
                        drawn.push(';');
                    }
                    drawn.push_str(alloc);
                }
                let outcome = Outcome::decode(tag, &nums, n)?;
                let mut receipt = self.receipt(
                    outcome,
                    Effort {
                        attempts: 1,
                        conflicts: 0,
                    },
                );
                receipt.drawn = Receipt::drawn_of(&receipt.outcome, &drawn, &self.items.quantities())?;
                Ok(receipt)
            }
        }
    }
}
