use crate::Inventory;
use crate::Reason;
use crate::domain::EntryKind;
use crate::domain::{Limit, Location, Reference, Sku};
use crate::error::{Error, StoreError};
use crate::store::Store;
use redis::streams::StreamRangeReply;
use serde::Serialize;

/// One stock change, as appended to the SKU's stream in the same MULTI or script as the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Movement {
    /// The stream entry id (`ms-seq`), unique and time-ordered.
    pub id: String,
    /// `set`, `restock`, `purchase`, `checkout`, `reserve`, `confirm`, `cancel`, `expire`,
    /// `transfer` or `adjust`.
    #[schema(value_type = String)]
    pub kind: EntryKind,
    /// Units moved; for `set` and `adjust`, the difference it made to `available` (may be
    /// negative).
    pub quantity: i64,
    /// The order or reservation it belongs to (`admin` for set and restock).
    #[serde(rename = "ref")]
    #[schema(value_type = String)]
    pub reference: Reference,
    /// When, epoch ms.
    pub at: i64,
    /// The named location a stockroom change (`set`, `restock`, `adjust`) applied to, or
    /// that a `transfer` left.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Location>,
    /// Where a `transfer` went.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub to: Option<Location>,
    /// Why an `adjust` was made: `cycle_count`, `damaged`, `lost` or `found`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reason: Option<Reason>,
}

/// The `200` body of `GET /v1/skus/{sku}/movements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Movements {
    /// The SKU.
    pub sku: Sku,
    /// Newest first.
    pub movements: Vec<Movement>,
}

/// The newest `limit` movements of a SKU. The stream is capped (`--movements-maxlen`), so
/// old entries eventually fall off; the counters stay exact.
pub async fn movements(store: &Inventory, sku: &Sku, limit: Limit) -> Result<Movements, Error> {
    let mut pipe = redis::pipe();
    pipe.cmd("EXISTS")
        .arg(store.keys().stock(sku))
        .cmd("XREVRANGE")
        .arg(store.keys().movements(sku))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(limit.get());
    let mut conn = store.shared();
    let (exists, range): (bool, StreamRangeReply) =
        Store::bounded(store.deadline(), pipe.query_async(&mut conn)).await?;
    if !exists {
        return Err(Error::unknown_sku(sku));
    }
    let movements = range
        .ids
        .into_iter()
        .map(|entry| {
            let text = |name: &str| -> Result<String, StoreError> {
                entry
                    .get::<String>(name)
                    .ok_or_else(|| StoreError::Protocol(format!("movement {} has no {name}", entry.id).into()))
            };
            let num = |name: &str| -> Result<i64, StoreError> {
                text(name)?
                    .parse()
                    .map_err(|_| StoreError::Protocol(format!("movement {}: {name} is not a number", entry.id).into()))
            };
            // A location the program wrote, read back through its rule.
            let place = |name: &str| -> Result<Option<Location>, StoreError> {
                entry
                    .get::<String>(name)
                    .map(|raw| {
                        Location::parse(&raw, name)
                            .map_err(|_| StoreError::Protocol(format!("movement {}: bad {name}", entry.id).into()))
                    })
                    .transpose()
            };
            let kind = EntryKind::parse(&text("kind")?)
                .ok_or_else(|| StoreError::Protocol(format!("movement {}: unknown kind", entry.id).into()))?;
            Ok(Movement {
                kind,
                quantity: num("quantity")?,
                reference: Reference::parse_for(kind, &text("ref")?)
                    .ok_or_else(|| StoreError::Protocol(format!("movement {}: bad ref", entry.id).into()))?,
                at: num("at")?,
                location: place("location")?,
                to: place("to")?,
                reason: match entry.get::<String>("reason") {
                    None => None,
                    Some(raw) => Some(Reason::parse(&raw).ok_or_else(|| {
                        StoreError::Protocol(format!("movement {}: unknown reason", entry.id).into())
                    })?),
                },
                id: entry.id.clone(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Movements {
        sku: sku.clone(),
        movements,
    })
}
