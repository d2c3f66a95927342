//! The rows of `return_lines`: each line of a return (or a cancellation) an entry carries,
//! written in the batch's transaction beside its movements.

use crate::domain::{Disposition, Location, ReturnId, Sku};
use crate::ops::journal::Entry;
use crate::ops::{OrderReturn, ReturnLine};

/// The batch's return lines, column by column, ready to bind as arrays.
#[derive(Default)]
pub(super) struct ReturnRows {
    id: Vec<String>,
    no: Vec<i32>,
    order: Vec<String>,
    cancel: Vec<bool>,
    sku: Vec<String>,
    qty: Vec<i64>,
    disposition: Vec<String>,
    location: Vec<Option<String>>,
    from: Vec<String>,
    at: Vec<i64>,
}

impl ReturnRows {
    /// Adds the lines of the return `entry` carries, if any (its `ref` is the order).
    pub(super) fn add(&mut self, entry: &Entry) {
        let Some(ret) = &entry.order_return else {
            return;
        };
        for (i, line) in ret.lines.iter().enumerate() {
            self.id.push(ret.return_id.to_string());
            self.no.push(i32::try_from(i + 1).unwrap_or(i32::MAX));
            self.order.push(entry.reference.clone());
            self.cancel.push(ret.cancel);
            self.sku.push(line.sku.to_string());
            self.qty.push(line.quantity);
            self.disposition.push(line.disposition.as_str().to_owned());
            self.location.push(line.location.as_ref().map(ToString::to_string));
            self.from
                .push(serde_json::to_string(&line.from).expect("allocations serialize"));
            self.at.push(ret.at);
        }
    }

    pub(super) async fn write(self, tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        if self.id.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO return_lines (return_id, line_no, order_id, cancel, sku, quantity, disposition, location, taken_from, at)
             SELECT i::uuid, n, o::uuid, c, s, q, d, l, f::jsonb, to_timestamp(a / 1000.0)
             FROM UNNEST($1::text[], $2::int[], $3::text[], $4::bool[], $5::text[], $6::bigint[], $7::text[], $8::text[],
                         $9::text[], $10::bigint[]) AS t(i, n, o, c, s, q, d, l, f, a)
             ON CONFLICT DO NOTHING",
        )
        .bind(self.id)
        .bind(self.no)
        .bind(self.order)
        .bind(self.cancel)
        .bind(self.sku)
        .bind(self.qty)
        .bind(self.disposition)
        .bind(self.location)
        .bind(self.from)
        .bind(self.at)
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// The returns of one order from the books, oldest first, as the order in Redis held them.
pub(super) async fn returns_of(pool: &sqlx::PgPool, order_id: &str) -> Result<Vec<OrderReturn>, sqlx::Error> {
    type Row = (String, bool, i64, String, i64, String, Option<String>, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT return_id::text, cancel, round(extract(epoch from at) * 1000)::bigint, sku, quantity, disposition,
                location, taken_from::text
         FROM return_lines WHERE order_id = $1::uuid ORDER BY at, return_id, line_no",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    let bad = |what: &str| sqlx::Error::Decode(format!("return_lines: bad {what}").into());
    let mut returns: Vec<OrderReturn> = Vec::new();
    for (id, cancel, at, sku, quantity, disposition, location, from) in rows {
        let return_id = ReturnId::parse(&id).ok_or_else(|| bad("return_id"))?;
        let line = ReturnLine {
            sku: Sku::parse(&sku).map_err(|_| bad("sku"))?,
            quantity,
            disposition: Disposition::parse(&disposition).ok_or_else(|| bad("disposition"))?,
            location: location
                .map(|l| Location::parse(&l, "location").map_err(|_| bad("location")))
                .transpose()?,
            from: serde_json::from_str(&from).map_err(|_| bad("taken_from"))?,
        };
        match returns.last_mut() {
            Some(last) if last.return_id == return_id => last.lines.push(line),
            _ => returns.push(OrderReturn {
                return_id,
                cancel,
                at,
                lines: vec![line],
                pending: Vec::new(),
            }),
        }
    }
    Ok(returns)
}
