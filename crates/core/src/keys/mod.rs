//! The key layout: the only place that spells a Redis key.
//!
//! With prefix `sw` (the default); `{T}` is the tag of a Redis Cluster slot ([`tag_for`]):
//!
//! | key | type | holds | slot |
//! |---|---|---|---|
//! | `sw:sku:{SKU}` | hash | `available`, `reserved`, `sold`, `received`; per location `…@L`, `locs`, `priority@L`; alert rules; `born` (the creating movement) and `moved` (movements in the history list); `opt`, the settings mark | the SKU's |
//! | `sw:sku:{SKU}:history` | list | the SKU's later movements, newest first, capped by LTRIM (`crate::ops::movements` has the entry format) | the SKU's |
//! | `sw:sku:{SKU}:customers` | hash | for a SKU with a per-customer limit: `u:USER` units a customer took, `h:USER` their active holds (`crate::ops::sale`) | the SKU's |
//! | `sw:sku:{SKU}:queue` | zset | a waiting room's tickets: early arrivals at random places below 1, later ones at the instant they are admitted (ms) (`crate::ops::queue`) | the SKU's |
//! | `sw:sku:{SKU}:tickets` | hash | `u:USER` → the customer's ticket, `t:TICKET` → its customer, `last` → the latest admission instant | the SKU's |
//! | `sw:history:upgraded` | string | set once the movement streams of earlier versions (`sw:sku:{SKU}:moves`) were converted | its own |
//! | `sw:settings:marked` | string | set once every SKU with a setting carries `opt` in its stock hash (`crate::ops::settings_mark`) | its own |
//! | `sw:order:{T}:ID` | string | the order as JSON | the id's |
//! | `sw:resv:{T}:ID` | hash | a reservation | the id's |
//! | `sw:returned:{T}:ID` | string | set once slot T's lines of return ID (of a cross-slot order) were put back, in the same MULTI (`crate::ops::after_sale`) | T |
//! | `sw:saga:{T}:ID` | string | `commit` or `abort`: the decision of a cross-slot cart (ID is its order or reservation) | the id's |
//! | `sw:expiry:{T}` | zset | active reservation ids of slot T, scored by `expires_at` (ms) | T |
//! | `sw:expiry:slots` | set | the slots whose expiry index may hold entries | its own |
//! | `sw:expiry:due` | zset | listed slots, scored by when the worker should next look | its own |
//! | `sw:idem:{T}:HASH` | hash | a stored answer for an `Idempotency-Key` | the call's |
//! | `sw:idem:HASH` | string | the fingerprint the key was first used with | its own |
//! | `sw:ledger:{T}` | stream | the ledger feed of slot T: one entry per change, in the same MULTI or script (`crate::ops::journal`); on one server, all changes use slot 0's | T |
//! | `sw:ledger:dead:{T}` | stream | entries of slot T the projector gave up on | T |
//! | `sw:ledger:slots` | set | the slots whose feed may hold entries | its own |
//! | `sw:ledger:dirty` | set | slots written since a projector last looked (a hint) | its own |
//! | `sw:aging:{T}` | zset | projected orders of slot T, scored by `created_at` (ms) | T |
//! | `sw:aged:{T}` | hash | per SKU, units sold in orders of slot T that aged out of Redis | T |
//! | `sw:retired:{T}` | hash | per SKU retired in slot T, units its orders hold: `SKU`, and `SKU@L` per location | T |
//! | `sw:retired:slots` | set | the slots whose `retired` hash may have fields | its own |
//! | `sw:alerts:{T}` | stream | stock alerts raised in slot T, in the same MULTI or script as the change (`crates/ops/src/lua/alerts.lua`); on one server, all use slot 0's | T |
//! | `sw:alerts:low:{T}` | zset | SKUs of feed slot T whose total `available` is below their `low_stock_threshold`, scored by `available`, kept in the same MULTI or script as the change | T |
//! | `sw:alerts:low:slots` | set | the feed slots whose low-stock index may have members | its own |
//! | `sw:alerts:low:complete` | string | set (to `2`) once the SKUs with thresholds of earlier versions were indexed and every SKU with alerts has its slot listed | its own |
//! | `sw:alerts:skus` | set | SKUs with alert rules: what the low-stock list reads, and whose slots the alert readers follow | its own |
//! | `sw:catalog:{catalog}` | zset | the catalog's directory: the lower bound of each page of SKU names (`crate::ops::catalog`) | its own |
//! | `sw:catalog:{catalog}:page:LOW` | zset | up to 120 SKU names from LOW on, all scores 0: a listpack | the directory's |
//! | `sw:catalog:{catalog}:complete` | string | set once every SKU made before the catalog joined it | the directory's |
//! | `sw:webhooks` | hash | webhook id → its JSON (url, events, secret) | its own |
//! | `sw:apikeys` | hash | API key id → its JSON (name, scopes, SHA-256 of the key; never the key) | its own |
//! | `sw:webhooks:dead` | hash | delivery id → a delivery that ran out of retries | its own |
//! | `sw:events` | channel | committed stock changes, for every process's feed (one server) | its own |
//! | `sw:events:{T}` | sharded channel | the same on a cluster, one of 64 by the SKU's slot range | T, the range's first |
//!
//! Why: every atomic step must stay in one cluster slot, and a step is about one SKU (or a
//! cart of SKUs in one slot). So the order or reservation a take creates, its hold-index
//! entry and its idempotent answer all go in the slot of the SKU whose stock moves. An id is
//! made in that slot ([`crate::domain::OrderId::generate_in`]): it is a plain UUIDv7 whose
//! low 14 bits name the slot, so `GET /v1/orders/{id}` finds the key from the id alone, and
//! clients still see a UUID. On a single Redis the same layout is used, so one layout is
//! tested everywhere.
//!
//! A cart whose SKUs span slots cannot be one step: it is a saga (`crate::ops::saga`) of
//! one timed hold per slot (ordinary reservations, each in its own slot, with their own
//! index entries) and one decision, kept with the order or reservation it creates.
//!
//! SKUs are validated ([`Sku`]) before they get here, so no input can forge a `:` or `}`
//! and reach a key it should not.

use crate::domain::{CartItems, ID_TEXT, OrderId, RecordId, ReservationId, ReturnId, Sku};
use sha2::{Digest, Sha256};

mod slots;
mod upgrades;
pub use slots::{slot_of, tag_for};

/// Redis Cluster's hash slots.
pub const SLOTS: u16 = crate::domain::CLUSTER_SLOTS;

/// Sharded event channels on a cluster: enough to spread the feed over any sensible number
/// of masters, few enough for one subscriber to follow them all.
pub const EVENT_SHARDS: u16 = 64;

/// A key prefix [`Keys::new`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key prefix {0:?} must be 1-64 characters of A-Z a-z 0-9 . _ - :")]
pub struct InvalidPrefix(pub String);

/// Builds every key from one validated prefix, so tests (and tenants) isolate by prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Accepts 1–64 characters of `A-Z a-z 0-9 . _ - :`; no glob or hash-tag characters,
    /// because the prefix ends up in SCAN patterns and beside hash tags.
    pub fn new(prefix: &str) -> Result<Self, InvalidPrefix> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':');
        if prefix.is_empty() || prefix.len() > 64 || !prefix.chars().all(ok) {
            return Err(InvalidPrefix(prefix.to_owned()));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The stock counters of one SKU.
    pub fn stock(&self, sku: &Sku) -> String {
        slots::joined(&[&self.prefix, ":sku:{", sku.as_str(), "}"])
    }

    /// The cluster slot of a SKU's keys, where every step that moves its stock runs.
    pub fn slot_of_sku(&self, sku: &Sku) -> u16 {
        slot_of(sku.as_str())
    }

    /// The slot a cart's record and answer live in: its first SKU's. A cart whose SKUs all
    /// share that slot is one atomic step; on one Redis every cart is.
    pub fn slot_of_cart(&self, items: &CartItems) -> u16 {
        self.slot_of_sku(&items.lines()[0].sku)
    }

    /// The movement history list of one SKU (same hash tag as its stock). Not `:moves`:
    /// that was the stream of earlier versions ([`Self::old_movements_pattern`]).
    pub fn movements(&self, sku: &Sku) -> String {
        slots::joined(&[&self.prefix, ":sku:{", sku.as_str(), "}:history"])
    }

    /// What each customer took of one SKU with a sale limit (same hash tag as its stock:
    /// the take script derives it from the stock key, so it is in the script's slot).
    pub fn customers(&self, sku: &Sku) -> String {
        format!("{}:sku:{{{sku}}}:customers", self.prefix)
    }

    /// A SKU's waiting room: its tickets in admission order.
    pub fn queue(&self, sku: &Sku) -> String {
        format!("{}:sku:{{{sku}}}:queue", self.prefix)
    }

    /// Who holds which ticket of a SKU's waiting room, and its latest admission instant.
    pub fn tickets(&self, sku: &Sku) -> String {
        format!("{}:sku:{{{sku}}}:tickets", self.prefix)
    }

    /// A SCAN pattern matching every stock key and nothing else.
    pub fn stock_pattern(&self) -> String {
        format!("{}:sku:{{*}}", self.prefix)
    }

    /// Recovers the SKU from a stock key found by SCAN.
    pub fn sku_of_stock_key(&self, key: &str) -> Option<Sku> {
        let inner = key
            .strip_prefix(&self.prefix)?
            .strip_prefix(":sku:{")?
            .strip_suffix('}')?;
        Sku::parse(inner).ok()
    }

    /// One order, in the slot its id names.
    pub fn order(&self, id: &OrderId) -> String {
        let mut text = [0; ID_TEXT];
        slots::joined(&[&self.prefix, ":order:{", tag_for(id.slot()), "}:", id.encode(&mut text)])
    }

    /// A SCAN pattern matching every order key.
    pub fn order_pattern(&self) -> String {
        format!("{}:order:*", self.prefix)
    }

    /// One reservation, in the slot its id names.
    pub fn reservation(&self, id: &ReservationId) -> String {
        let mut text = [0; ID_TEXT];
        slots::joined(&[&self.prefix, ":resv:{", tag_for(id.slot()), "}:", id.encode(&mut text)])
    }

    /// The decision of a cross-slot saga whose order or reservation is `parent`: written once
    /// (`commit` by the coordinator, or `abort` by whoever gives up first), in the parent's
    /// slot, so the commit and the parent record are one transaction.
    pub fn saga(&self, parent: &RecordId) -> String {
        format!("{}:saga:{{{}}}:{parent}", self.prefix, tag_for(parent.slot()))
    }

    /// Marks that slot `slot`'s share of a cross-slot order's return `id` was put back: written
    /// in the share's own transaction, so a share is applied once however often it is tried.
    pub fn return_share(&self, slot: u16, id: &ReturnId) -> String {
        format!("{}:returned:{{{}}}:{id}", self.prefix, tag_for(slot))
    }

    /// A SCAN pattern matching every reservation key.
    pub fn reservation_pattern(&self) -> String {
        format!("{}:resv:*", self.prefix)
    }

    /// The expiry index of the active reservations of one slot: a hold is indexed in the
    /// same transaction that takes it, so the index must live in the hold's slot.
    pub fn expiry(&self, slot: u16) -> String {
        slots::joined(&[&self.prefix, ":expiry:{", tag_for(slot), "}"])
    }

    /// The set of slots whose expiry index may hold entries, so the worker sweeps only
    /// those. A slot is added before its first hold (a superset, never a subset).
    pub fn expiry_slots(&self) -> String {
        format!("{}:expiry:slots", self.prefix)
    }

    /// When each listed slot next needs the worker: member the slot, score a time no later
    /// than its earliest hold's deadline. Writers lower it after each hold; the worker parks
    /// it far ahead before sweeping a slot and lowers it again to the head it leaves, so a
    /// sweep visits only slots with something due.
    pub fn expiry_due(&self) -> String {
        format!("{}:expiry:due", self.prefix)
    }

    /// A stored idempotent answer, in the slot of the step that writes it (the same MULTI or
    /// script). The client's key is hashed, so whatever visible ASCII it holds never shapes
    /// our key space.
    pub fn idempotency(&self, scope: &str, client_key: &str, slot: u16) -> String {
        let digest = Self::idempotency_digest(scope, client_key);
        format!("{}:idem:{{{}}}:{digest}", self.prefix, tag_for(slot))
    }

    /// The lock that lets one keyed `broken` take at a time decide for an answer key (the
    /// teaching strategy has no WATCH to do it): beside the answer, in its slot.
    pub fn idempotency_lock(&self, answer_key: &str) -> String {
        format!("{answer_key}:busy")
    }

    /// The fingerprint a client's key was first used with. The answer lives in the slot of
    /// the request's SKUs, so a key reused for other SKUs would look in another slot; this
    /// one key per client key (in a slot of its own) catches that reuse.
    pub fn idempotency_claim(&self, scope: &str, client_key: &str) -> String {
        format!("{}:idem:{}", self.prefix, Self::idempotency_digest(scope, client_key))
    }

    fn idempotency_digest(scope: &str, client_key: &str) -> String {
        let digest = Sha256::new()
            .chain_update(scope.as_bytes())
            .chain_update([0])
            .chain_update(client_key.as_bytes())
            .finalize();
        hex::encode(digest)
    }

    /// The ledger feed of one slot: a change's entry must be written in its own MULTI or
    /// script, so the feed is per slot, like the expiry index.
    pub fn ledger_feed(&self, slot: u16) -> String {
        format!("{}:ledger:{{{}}}", self.prefix, tag_for(slot))
    }

    /// The dead letters of one slot's feed, beside it so moving an entry is one MULTI.
    pub fn ledger_dead(&self, slot: u16) -> String {
        format!("{}:ledger:dead:{{{}}}", self.prefix, tag_for(slot))
    }

    /// The slots whose feed may hold entries; a slot is added before its first entry (a
    /// superset, never a subset), so a projector's full pass misses nothing.
    pub fn ledger_slots(&self) -> String {
        format!("{}:ledger:slots", self.prefix)
    }

    /// Slots written lately, added after commits: a hint that spares projectors a full pass.
    pub fn ledger_dirty(&self) -> String {
        format!("{}:ledger:dirty", self.prefix)
    }

    /// The stock alerts raised in one slot (`Store::feed_slot` in the store crate), beside the
    /// SKUs whose changes raise them, so an alert commits with its change.
    pub fn alerts(&self, slot: u16) -> String {
        format!("{}:alerts:{{{}}}", self.prefix, tag_for(slot))
    }

    /// The catalog's directory: every SKU's name is in one page, a small sorted set (all
    /// scores 0, so ordered by name); this sorted set holds each page's lower bound, the
    /// first page's being `""`. `GET /v1/skus` pages through it (`ops::catalog`).
    pub fn catalog(&self) -> String {
        format!("{}:catalog:{{catalog}}", self.prefix)
    }

    /// What a catalog page's key starts with; its lower bound follows. Same slot as the
    /// directory, so one script keeps them all in step.
    pub fn catalog_page_prefix(&self) -> String {
        format!("{}:catalog:{{catalog}}:page:", self.prefix)
    }

    /// SKUs with alert rules, added when their rules are set.
    pub fn alert_skus(&self) -> String {
        format!("{}:alerts:skus", self.prefix)
    }

    /// Registered webhooks.
    pub fn webhooks(&self) -> String {
        format!("{}:webhooks", self.prefix)
    }

    /// Client API keys: id → name, scopes and the key's digest.
    pub fn api_keys(&self) -> String {
        format!("{}:apikeys", self.prefix)
    }

    /// Webhook deliveries that ran out of retries, for the admin API to show and replay.
    pub fn webhooks_dead(&self) -> String {
        format!("{}:webhooks:dead", self.prefix)
    }

    /// Orders of one slot that are in the ledger, scored by `created_at`: what may age out.
    pub fn aging(&self, slot: u16) -> String {
        format!("{}:aging:{{{}}}", self.prefix, tag_for(slot))
    }

    /// Per SKU, the units sold in orders of one slot that aged out of Redis, written in the
    /// same MULTI that deletes them, so `verify` stays exact.
    pub fn aged(&self, slot: u16) -> String {
        format!("{}:aged:{{{}}}", self.prefix, tag_for(slot))
    }

    /// The low-stock index of one feed slot: the SKUs whose total `available` is below their
    /// `low_stock_threshold`, scored by `available`, kept in the change that moves either
    /// (`crates/ops/src/lua/alerts.lua`), so the low-stock list costs what it returns.
    pub fn low_stock(&self, slot: u16) -> String {
        format!("{}:alerts:low:{{{}}}", self.prefix, tag_for(slot))
    }

    /// The low-stock index of one feed slot at one location: the SKUs whose `available`
    /// there is below their threshold (a SKU without named locations has `default` only,
    /// holding its totals). The name is [`Keys::low_stock`]'s with `:at:LOCATION` after it,
    /// as the scripts build it (`crates/ops/src/lua/low_index.lua`): same hash tag, so a
    /// change of the SKU keeps it in the same transaction on a cluster too.
    pub fn low_stock_at(&self, slot: u16, location: &str) -> String {
        format!("{}:at:{location}", self.low_stock(slot))
    }

    /// The feed slots whose [`Keys::low_stock`] index may have members; added before a
    /// SKU's threshold is set.
    pub fn low_stock_slots(&self) -> String {
        format!("{}:alerts:low:slots", self.prefix)
    }

    /// Per SKU retired in one slot (`DELETE /v1/skus/{sku}`), the units its orders hold:
    /// field `SKU` in all and `SKU@LOCATION` per location drawn from (`@` is in neither
    /// alphabet), added in the MULTI that deletes its stock, so `verify` stays exact.
    pub fn retired(&self, slot: u16) -> String {
        format!("{}:retired:{{{}}}", self.prefix, tag_for(slot))
    }

    /// The slots whose [`Keys::retired`] hash may have fields; added before the retirement.
    pub fn retired_slots(&self) -> String {
        format!("{}:retired:slots", self.prefix)
    }

    /// The pub/sub channel of committed stock changes on one server, which every process's
    /// feed follows.
    pub fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }

    /// On a cluster, the sharded channel (`SPUBLISH`) of a SKU in `slot`: one of
    /// [`EVENT_SHARDS`], each tagged with the first slot of its range, so a SKU's events
    /// mostly go through the master that holds its stock.
    pub fn events_shard(&self, slot: u16) -> String {
        let width = SLOTS / EVENT_SHARDS;
        format!("{}:events:{{{}}}", self.prefix, tag_for(slot / width * width))
    }

    /// Every sharded event channel, for a subscriber.
    pub fn events_shards(&self) -> Vec<String> {
        let width = SLOTS / EVENT_SHARDS;
        (0..EVENT_SHARDS).map(|i| self.events_shard(i * width)).collect()
    }
}

#[cfg(test)]
mod tests;
