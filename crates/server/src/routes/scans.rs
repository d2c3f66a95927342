use super::api::{BadRow, MovementBatchRequest, Scan, ScanRow, parse_batch};
use super::auth::Admin;
use super::extract::{AppState, JsonBody};
use super::once;
use crate::error::Error;
use crate::ops::{self, Idempotency};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// SKUs whose rows run at once; a SKU's own rows run one after another, in batch order.
const SKUS_AT_ONCE: usize = 8;

/// `POST /v1/movements` (admin): a scanner's batch. Each row is applied once, keyed by its
/// `id` (scanners resend), as its single endpoint would apply it; the answer lists every
/// row's result, in row order.
#[utoipa::path(post, path = "/v1/movements", tag = "admin",
    request_body = super::api::MovementBatchRequest,
    responses((status = 200, description = "`{\"results\": [...]}`, one per row in row order: `{\"row\", \"id\", \"status\"}` \
        and, when `status` is 200, `\"stock\"` (the stock object after the row); otherwise the error's fields \
        (`error`, `message`, …) as the single endpoint would answer. A refused row changed nothing.", body = Object),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::TooLarge,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(rows))]
pub(super) async fn record(
    _: Admin,
    state: web::Data<AppState>,
    body: JsonBody<MovementBatchRequest>,
) -> Result<HttpResponse, Error> {
    let rows = parse_batch(body.get())?;
    note!("rows", rows.len());
    // Rows grouped by SKU, first appearance first; refused rows answer at once.
    let mut results: Vec<Value> = vec![Value::Null; rows.len()];
    let mut groups: Vec<(String, Vec<(usize, ScanRow)>)> = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match row {
            Ok(row) => match groups.iter_mut().find(|(sku, _)| sku == row.sku.as_str()) {
                Some((_, group)) => group.push((i, row)),
                None => groups.push((row.sku.as_str().to_owned(), vec![(i, row)])),
            },
            Err(BadRow { id, reason }) => {
                let refusal = Error::from(reason);
                results[i] = answer(i, id.as_deref(), refusal.status().as_u16(), json!(refusal.error_body()));
            }
        }
    }
    let state = &state;
    let done: Vec<Vec<(usize, Value)>> = futures_util::stream::iter(groups)
        .map(|(_, group)| async move {
            let mut out = Vec::with_capacity(group.len());
            for (i, row) in group {
                out.push((i, apply(state, i, &row).await));
            }
            out
        })
        .buffer_unordered(SKUS_AT_ONCE)
        .collect()
        .await;
    for (i, result) in done.into_iter().flatten() {
        results[i] = result;
    }
    Ok(HttpResponse::Ok().json(json!({ "results": results })))
}

/// Applies one row once under its id, and says how it went.
async fn apply(state: &web::Data<AppState>, i: usize, row: &ScanRow) -> Value {
    let canonical = serde_json::to_string(&(&row.sku, &row.scan)).unwrap_or_default();
    let idem = Idempotency::new(row.id.clone(), &["movement", &canonical]);
    let store = &state.store;
    let written = ops::once(store, "movement", Some(&idem), || async {
        let stock = match &row.scan {
            Scan::Receive(r) => ops::restock(store, &row.sku, r.quantity, r.location.as_ref()).await?,
            Scan::Transfer(t) => ops::transfer(store, &row.sku, &t.from, &t.to, t.quantity).await?,
            Scan::Adjust { location, adjustment } => {
                ops::adjust(
                    store,
                    &row.sku,
                    location,
                    adjustment.correction,
                    adjustment.reason,
                    adjustment.of,
                )
                .await?
            }
        };
        Ok(once::json(StatusCode::OK, &stock))
    })
    .await;
    let (status, body) = match written {
        Ok(a) => (a.status, serde_json::from_slice(&a.body).unwrap_or(Value::Null)),
        Err(e) => (e.status().as_u16(), json!(e.error_body())),
    };
    answer(i, Some(row.id.as_str()), status, body)
}

/// One row's result: the stock after it, or the refusal's fields.
fn answer(i: usize, id: Option<&str>, status: u16, body: Value) -> Value {
    let mut result = json!({"row": i, "id": id, "status": status});
    match (status, body) {
        (200, stock) => result["stock"] = stock,
        (_, Value::Object(fields)) => result.as_object_mut().expect("an object").extend(fields),
        _ => {}
    }
    result
}
