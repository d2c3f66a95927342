//! One batch into PostgreSQL: one transaction, idempotent by each entry's id.
//!
//! The entry ids go into `ledger_entries` first (`ON CONFLICT DO NOTHING RETURNING`); only
//! the ones that were new there produce rows. A replayed batch (a crash after COMMIT and
//! before XACK, or an entry claimed by a second projector) so writes nothing twice. Rows go
//! in with one `INSERT … SELECT FROM UNNEST` per table: a handful of statements per batch,
//! whatever its size.

use super::fault::{FaultHook, FaultPoint};
use super::feed::{FeedEntry, parse_id};
use crate::convert;
use crate::ops::journal::Entry;
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};

/// Whether PostgreSQL refused the data itself (a bad value, a broken constraint), which no
/// retry fixes, as opposed to being unreachable, overloaded or out of disk.
pub(super) fn refused(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("22") || code.starts_with("23")),
        _ => false,
    }
}

/// Writes the batch's new entries in one transaction; returns how many were new.
pub(super) async fn project(pool: &PgPool, batch: &[FeedEntry], fault: &FaultHook) -> Result<u64, sqlx::Error> {
    let entries: Vec<(&FeedEntry, &Entry)> = batch
        .iter()
        .filter_map(|f| f.entry.as_ref().ok().map(|e| (f, e)))
        .collect();
    if entries.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    // XACK follows COMMIT, so COMMIT must mean durable, whatever the server's default: with
    // asynchronous commit, a PostgreSQL crash could lose a batch Redis already let go of.
    sqlx::query("SET LOCAL synchronous_commit = on")
        .execute(&mut *tx)
        .await?;
    let fresh: Vec<(i32, String)> = sqlx::query_as(
        "INSERT INTO ledger_entries (slot, entry_id, kind, ref, at)
         SELECT s, e, k, r, to_timestamp(a / 1000.0) FROM UNNEST($1::int[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(s, e, k, r, a)
         ON CONFLICT DO NOTHING RETURNING slot, entry_id",
    )
    .bind(entries.iter().map(|(f, _)| i32::from(f.slot)).collect::<Vec<_>>())
    .bind(entries.iter().map(|(f, _)| f.key.clone()).collect::<Vec<_>>())
    .bind(entries.iter().map(|(_, e)| e.kind.as_str()).collect::<Vec<_>>())
    .bind(entries.iter().map(|(_, e)| e.reference.clone()).collect::<Vec<_>>())
    .bind(entries.iter().map(|(_, e)| e.at).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    let fresh: HashSet<(u16, &str)> = fresh
        .iter()
        .filter_map(|(slot, id)| Some((u16::try_from(*slot).ok()?, id.as_str())))
        .collect();
    let new: Vec<(&FeedEntry, &Entry)> = entries
        .into_iter()
        .filter(|(f, _)| fresh.contains(&(f.slot, f.key.as_str())))
        .collect();
    let rows = Rows::of(&new);
    rows.write(&mut tx).await?;
    fault.at(FaultPoint::BeforeCommit);
    tx.commit().await?;
    Ok(new.len() as u64)
}

/// The batch's rows, column by column, ready to bind as arrays.
#[derive(Default)]
struct Rows {
    // orders
    o_id: Vec<String>,
    o_user: Vec<String>,
    o_source: Vec<String>,
    o_resv: Vec<Option<String>>,
    o_at: Vec<i64>,
    o_slot: Vec<i32>,
    o_entry: Vec<String>,
    // order_lines
    l_order: Vec<String>,
    l_no: Vec<i32>,
    l_sku: Vec<String>,
    l_qty: Vec<i64>,
    /// JSON, or `None` for a line all from `default`.
    l_alloc: Vec<Option<String>>,
    // movements
    m_slot: Vec<i32>,
    m_entry: Vec<String>,
    m_no: Vec<i32>,
    m_kind: Vec<String>,
    m_sku: Vec<String>,
    m_qty: Vec<i64>,
    m_ref: Vec<String>,
    m_at: Vec<i64>,
    m_d: [Vec<i64>; 6],
    // return_lines
    returns: super::returns::ReturnRows,
    // reservation_transitions
    t_slot: Vec<i32>,
    t_entry: Vec<String>,
    t_id: Vec<String>,
    t_kind: Vec<String>,
    t_status: Vec<String>,
    t_exp: Vec<i64>,
    t_at: Vec<i64>,
    // reservations: the latest change of each in the batch (an upsert may touch a row once)
    latest: HashMap<String, Latest>,
}

struct Latest {
    order: (u64, u64),
    user: String,
    status: String,
    items: String,
    expires_at: i64,
    created_at: i64,
    order_id: Option<String>,
    saga_parent: Option<String>,
    at: i64,
}

impl Rows {
    fn of(batch: &[(&FeedEntry, &Entry)]) -> Self {
        let mut rows = Self::default();
        for (fed, entry) in batch {
            let slot = i32::from(fed.slot);
            if let Some(order) = &entry.order {
                rows.o_id.push(order.order_id.to_string());
                rows.o_user.push(order.user_id.to_string());
                rows.o_source.push(source(order));
                rows.o_resv.push(order.reservation_id.map(|id| id.to_string()));
                rows.o_at.push(order.created_at);
                rows.o_slot.push(slot);
                rows.o_entry.push(fed.key.clone());
                for (i, line) in order.items.iter().enumerate() {
                    rows.l_order.push(order.order_id.to_string());
                    rows.l_no.push(i32::try_from(i + 1).unwrap_or(i32::MAX));
                    rows.l_sku.push(line.sku.to_string());
                    rows.l_qty.push(line.quantity);
                    rows.l_alloc.push(
                        (!line.allocations.is_empty())
                            .then(|| serde_json::to_string(&line.allocations).expect("allocations serialize")),
                    );
                }
            }
            rows.returns.add(entry);
            if let (Some(shelf), Some(preorder)) = (entry.kind.deltas(), entry.kind.preorder_deltas()) {
                for (i, line) in entry.lines.iter().enumerate() {
                    // A preorder's units still waiting touch no shelf.
                    let waiting = crate::ops::level::Allocation::preorder_of(&line.allocations).is_some();
                    let d = if waiting { preorder } else { shelf };
                    rows.m_slot.push(slot);
                    rows.m_entry.push(fed.key.clone());
                    rows.m_no.push(i32::try_from(i + 1).unwrap_or(i32::MAX));
                    rows.m_kind.push(entry.kind.as_str().to_owned());
                    rows.m_sku.push(line.sku.to_string());
                    rows.m_qty.push(line.quantity);
                    rows.m_ref.push(entry.reference.clone());
                    rows.m_at.push(entry.at);
                    let preordered = entry.kind.preordered(waiting);
                    for (column, unit) in rows.m_d.iter_mut().zip(d.into_iter().chain([preordered])) {
                        column.push(unit * line.quantity);
                    }
                }
            }
            if let Some(resv) = &entry.reservation {
                let id = resv.reservation_id.to_string();
                rows.t_slot.push(slot);
                rows.t_entry.push(fed.key.clone());
                rows.t_id.push(id.clone());
                rows.t_kind.push(entry.kind.as_str().to_owned());
                rows.t_status.push(resv.status.as_str().to_owned());
                rows.t_exp.push(resv.expires_at);
                rows.t_at.push(entry.at);
                let order = parse_id(&fed.key).unwrap_or((0, 0));
                let latest = Latest {
                    order,
                    user: resv.user_id.to_string(),
                    status: resv.status.as_str().to_owned(),
                    items: serde_json::to_string(&resv.items).expect("lines serialize"),
                    expires_at: resv.expires_at,
                    created_at: resv.created_at,
                    order_id: resv.order_id.map(|id| id.to_string()),
                    saga_parent: entry.saga_parent.clone(),
                    at: entry.at,
                };
                match rows.latest.get(&id) {
                    Some(seen) if seen.order > order => {}
                    _ => {
                        rows.latest.insert(id, latest);
                    }
                }
            }
        }
        rows
    }

    async fn write(self, tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        if !self.o_id.is_empty() {
            sqlx::query(
                "INSERT INTO orders (order_id, user_id, source, reservation_id, created_at, slot, entry_id)
                 SELECT o::uuid, u, s, r::uuid, to_timestamp(a / 1000.0), sl, e
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::text[]) AS t(o, u, s, r, a, sl, e)
                 ON CONFLICT (order_id) DO NOTHING",
            )
            .bind(&self.o_id)
            .bind(&self.o_user)
            .bind(&self.o_source)
            .bind(&self.o_resv)
            .bind(&self.o_at)
            .bind(&self.o_slot)
            .bind(&self.o_entry)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO order_lines (order_id, line_no, sku, quantity, allocations)
                 SELECT o::uuid, n, s, q, a::jsonb
                 FROM UNNEST($1::text[], $2::int[], $3::text[], $4::bigint[], $5::text[]) AS t(o, n, s, q, a)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&self.l_order)
            .bind(&self.l_no)
            .bind(&self.l_sku)
            .bind(&self.l_qty)
            .bind(&self.l_alloc)
            .execute(&mut *tx)
            .await?;
        }
        if !self.m_slot.is_empty() {
            let [da, dr, ds, drec, ddam, dpre] = &self.m_d;
            sqlx::query(
                "INSERT INTO movements (slot, entry_id, line_no, kind, sku, quantity, ref, at, d_available, d_reserved, d_sold, d_received, d_damaged, d_preordered)
                 SELECT sl, e, n, k, s, q, r, to_timestamp(a / 1000.0), da, dr, ds, drec, ddam, dpre
                 FROM UNNEST($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[],
                             $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[]) AS t(sl, e, n, k, s, q, r, a, da, dr, ds, drec, ddam, dpre)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&self.m_slot)
            .bind(&self.m_entry)
            .bind(&self.m_no)
            .bind(&self.m_kind)
            .bind(&self.m_sku)
            .bind(&self.m_qty)
            .bind(&self.m_ref)
            .bind(&self.m_at)
            .bind(da)
            .bind(dr)
            .bind(ds)
            .bind(drec)
            .bind(ddam)
            .bind(dpre)
            .execute(&mut *tx)
            .await?;
        }
        if !self.t_slot.is_empty() {
            sqlx::query(
                "INSERT INTO reservation_transitions (slot, entry_id, reservation_id, kind, status, expires_at, at)
                 SELECT sl, e, i::uuid, k, st, to_timestamp(x / 1000.0), to_timestamp(a / 1000.0)
                 FROM UNNEST($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) AS t(sl, e, i, k, st, x, a)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&self.t_slot)
            .bind(&self.t_entry)
            .bind(&self.t_id)
            .bind(&self.t_kind)
            .bind(&self.t_status)
            .bind(&self.t_exp)
            .bind(&self.t_at)
            .execute(&mut *tx)
            .await?;
            write_latest(tx, self.latest).await?;
        }
        self.returns.write(tx).await
    }
}

/// Upserts each reservation's latest state, unless the row already holds a later change.
async fn write_latest(tx: &mut sqlx::PgConnection, latest: HashMap<String, Latest>) -> Result<(), sqlx::Error> {
    let mut text: [Vec<String>; 4] = Default::default();
    let mut nums: [Vec<i64>; 5] = Default::default();
    let mut opt: [Vec<Option<String>>; 2] = Default::default();
    for (id, l) in latest {
        for (column, v) in text.iter_mut().zip([id, l.user, l.status, l.items]) {
            column.push(v);
        }
        let entry = [
            l.expires_at,
            l.created_at,
            l.at,
            convert::i64_of(l.order.0),
            convert::i64_of(l.order.1),
        ];
        for (column, v) in nums.iter_mut().zip(entry) {
            column.push(v);
        }
        for (column, v) in opt.iter_mut().zip([l.order_id, l.saga_parent]) {
            column.push(v);
        }
    }
    let [c0, c1, c2, c3] = text;
    let [n0, n1, n2, n3, n4] = nums;
    let [o0, o1] = opt;
    sqlx::query(
        "INSERT INTO reservations (reservation_id, user_id, status, items, expires_at, created_at, updated_at, entry_ms, entry_seq, order_id, saga_parent)
         SELECT i::uuid, u, st, it::jsonb, to_timestamp(x / 1000.0), to_timestamp(c / 1000.0), to_timestamp(a / 1000.0), ms, seq, o::uuid, p::uuid
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])
              AS t(i, u, st, it, x, c, a, ms, seq, o, p)
         ON CONFLICT (reservation_id) DO UPDATE SET
             status = EXCLUDED.status, expires_at = EXCLUDED.expires_at, order_id = EXCLUDED.order_id,
             updated_at = EXCLUDED.updated_at, entry_ms = EXCLUDED.entry_ms, entry_seq = EXCLUDED.entry_seq
         WHERE (reservations.entry_ms, reservations.entry_seq) < (EXCLUDED.entry_ms, EXCLUDED.entry_seq)",
    )
    .bind(c0)
    .bind(c1)
    .bind(c2)
    .bind(c3)
    .bind(n0)
    .bind(n1)
    .bind(n2)
    .bind(n3)
    .bind(n4)
    .bind(o0)
    .bind(o1)
    .execute(tx)
    .await?;
    Ok(())
}

fn source(order: &crate::ops::Order) -> String {
    serde_json::to_value(order.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
