//! # stockwatch-core: the words every layer speaks
//!
//! Nothing here talks to Redis; every other crate builds on it.
//!
//! - [`domain`]: request newtypes (`Sku`, `Quantity`, `CartItems`, …), built only by `parse`,
//!   and [`domain::Field`], a body field kept raw until its `parse`: the `stockwatch-domain`
//!   crate (shared with `stockwatch-client`), with its Redis, OpenAPI and CLI features on.
//! - [`keys`]: the Redis key layout, in one place.
//! - [`error`]: every failure, and its HTTP status and contract code, in one place.
//! - [`convert`]: number conversions that saturate instead of wrapping (also from
//!   `stockwatch-domain`).
//! - [`retry`]: how conflicted transactions back off, and the retry budget.
//! - [`outcome`]: how a call ended and what it cost, the vocabulary that operations produce
//!   and metrics and events record.
//!
//! ## Glossary
//!
//! One word per idea, in every crate:
//!
//! - **slot**: a Redis Cluster hash slot (0–16383), and nothing else. Every atomic step
//!   stays in one slot; on one server the same layout is used.
//! - **take**: units leaving `available` for a cart: a purchase, a checkout or a hold.
//! - **verdict**: how one take ends against the levels it read: commit, or an answer with
//!   nothing to write (a replay, or a refusal without a key to store it under).
//! - **record**: what a take writes, an order or a reservation; its id is a `RecordId`.
//! - **stored answer**: what the first call under an `Idempotency-Key` answered, kept in the
//!   call's slot and given back to every repeat (a **replay**).
//! - **group commit** and its **batch**: takes that queue behind one leader, decided in
//!   arrival order and committed in one WATCH/MULTI/EXEC or one script call.
//! - **hold** (a **reservation**): units moved to `reserved` until confirmed, cancelled or
//!   expired; the **expiry worker** releases lapsed ones, slot by slot (a **sweep**).
//! - **location**: a warehouse; an **allocation**: the units a line draws from one location.
//! - **movement**: one change to a SKU's levels, in its movements stream.
//! - **the ledger**: the pipeline that puts every change in PostgreSQL, exactly once. Its
//!   **entry** is one change as the ledger sees it; **journal** names writing an entry, in
//!   the same MULTI or script as the change; the **feed** is a slot's Redis stream of
//!   entries (`Keys::ledger_feed`); the **projector** reads the feeds into PostgreSQL and
//!   **acknowledges** what landed; the **books** are the PostgreSQL side.
//! - **events**: committed stock changes, published (pub/sub) for dashboards and `GET
//!   /v1/events`; not the ledger.
//! - **saga**: a cart whose SKUs span slots. Each slot's lines are one **part** (a hold);
//!   the **saga decision** (commit or abort) is stored in the parent's slot, with the
//!   **final commit**; a part **settles** by following that decision.
//! - **contention**: conflicts per attempt on one SKU, watched for alerts.

pub use stockwatch_domain as domain;
pub use stockwatch_domain::convert;
pub mod error;
pub mod keys;
pub mod outcome;
pub mod retry;

pub use error::{Error, StoreError};
