//! The request body of a SKU's sale settings; same rules as `super::requests`.

use crate::demo::Drop;
use crate::domain::{Available, Field, InvalidInput, Sku, Strategy, Timestamp, whole_in};
use crate::ops::sale::{Change, QueueTerms, SaleChange};
use serde::Deserialize;
use utoipa::ToSchema;

/// `PUT /v1/skus/{sku}/sale`: any of the settings. A field left out keeps its value;
/// `null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"opens_at": "2026-12-24T12:00:00Z", "per_customer_limit": 2, "max_active_holds_per_customer": 1}))]
pub struct SaleRequest {
    /// Takes before it are refused with `409 not_on_sale` (RFC 3339 with an offset).
    #[serde(default)]
    #[schema(schema_with = crate::domain::Timestamp::nullable_schema)]
    pub opens_at: Field,
    /// Takes from it on are refused with `409 not_on_sale`; later than `opens_at`.
    #[serde(default)]
    #[schema(schema_with = crate::domain::Timestamp::nullable_schema)]
    pub closes_at: Field,
    /// Units one customer (`user_id`) may buy and hold of the SKU, over all their calls.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000)]
    pub per_customer_limit: Field,
    /// Active holds one customer may have on the SKU at once.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000)]
    pub max_active_holds_per_customer: Field,
    /// A waiting room: `{"admit_per_s": 1-100000, "admission_ttl_s": 1-3600}`. While it is
    /// on, a take needs an `Admission` header (`POST …/queue`).
    #[serde(default)]
    #[schema(value_type = Option<crate::ops::sale::QueueTerms>)]
    pub queue: Field,
}

/// `POST /v1/skus/{sku}/queue`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"user_id": "alice"}))]
pub struct QueueRequest {
    /// The customer: one ticket each.
    #[serde(default)]
    #[schema(value_type = crate::domain::UserId, required = true)]
    pub user_id: Field,
}

/// `queue` of [`SaleRequest`]: an object of both numbers.
fn queue_terms(v: &serde_json::Value) -> Result<QueueTerms, InvalidInput> {
    let bad = || InvalidInput::new("queue must be {\"admit_per_s\": 1-100000, \"admission_ttl_s\": 1-3600}");
    let o = v.as_object().ok_or_else(bad)?;
    let num = |name: &str, max: u64| {
        o.get(name)
            .ok_or_else(bad)
            .and_then(|v| whole_in(v, &format!("queue.{name}"), 1..=max))
            .map(crate::convert::i64_of)
    };
    Ok(QueueTerms {
        admit_per_s: num("admit_per_s", 100_000)?,
        admission_ttl_s: num("admission_ttl_s", 3_600)?,
    })
}

impl TryFrom<&SaleRequest> for SaleChange {
    type Error = InvalidInput;

    fn try_from(body: &SaleRequest) -> Result<Self, InvalidInput> {
        fn change<T>(
            f: &Field,
            read: impl Fn(&serde_json::Value) -> Result<T, InvalidInput>,
        ) -> Result<Change<T>, InvalidInput> {
            match f.get() {
                None => Ok(Change::Keep),
                Some(v) if v.is_null() => Ok(Change::Clear),
                Some(v) => read(v).map(Change::Set),
            }
        }
        let count = |name: &'static str, max: u64| {
            move |v: &serde_json::Value| whole_in(v, name, 1..=max).map(crate::convert::i64_of)
        };
        Ok(Self {
            opens_at: change(&body.opens_at, |v| Timestamp::parse(v, "opens_at"))?,
            closes_at: change(&body.closes_at, |v| Timestamp::parse(v, "closes_at"))?,
            per_customer_limit: change(&body.per_customer_limit, count("per_customer_limit", 1_000_000))?,
            max_active_holds_per_customer: change(
                &body.max_active_holds_per_customer,
                count("max_active_holds_per_customer", 1_000),
            )?,
            queue: change(&body.queue, queue_terms)?,
        })
    }
}

/// `POST /v1/demo/bots`: a drop limited per customer, bots against people.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"sku": "drop", "strategy": "watch", "bots": 5, "requests_per_bot": 40, "people": 100, "stock": 100, "limit": 2}))]
pub struct BotsRequest {
    /// The SKU of the drop: stocked and limited first, retired after.
    #[serde(default)]
    #[schema(value_type = Sku, required = true)]
    pub sku: Field,
    /// How every take runs (default watch).
    #[serde(default)]
    #[schema(value_type = Option<Strategy>)]
    pub strategy: Field,
    /// Bots (1-100), each firing `requests_per_bot` requests at once.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 100)]
    pub bots: Field,
    /// Requests each bot fires (1-1000).
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 1000)]
    pub requests_per_bot: Field,
    /// People, one request each (0-5000).
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 0, maximum = 5000)]
    pub people: Field,
    /// Units in stock (1-1,000,000).
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 1_000_000)]
    pub stock: Field,
    /// Units one customer may take (1-1,000,000).
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 1, maximum = 1_000_000)]
    pub limit: Field,
}

impl TryFrom<&BotsRequest> for Drop {
    type Error = InvalidInput;

    fn try_from(body: &BotsRequest) -> Result<Self, InvalidInput> {
        let num =
            |f: &Field, name: &str, range: std::ops::RangeInclusive<u64>| whole_in(f.required(name)?, name, range);
        Ok(Drop {
            sku: Sku::parse(body.sku.required("sku")?.as_str().unwrap_or_default())?,
            strategy: Strategy::parse(body.strategy.optional().map(|v| v.as_str().unwrap_or_default()))?,
            bots: num(&body.bots, "bots", 1..=100)?,
            requests_per_bot: num(&body.requests_per_bot, "requests_per_bot", 1..=1000)?,
            people: num(&body.people, "people", 0..=5000)?,
            stock: Available::parse(&num(&body.stock, "stock", 1..=1_000_000)?.into(), "stock")?,
            limit: crate::convert::i64_of(num(&body.limit, "limit", 1..=1_000_000)?),
        })
    }
}
