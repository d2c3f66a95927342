//! A SKU's sale settings (a drop): `PUT` and `GET /v1/skus/{sku}/sale`.

use crate::call::Call;
use crate::{Client, Error};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use stockwatch_domain::{Sku, Ticket, Timestamp, UserId};

/// One setting of [`SaleUpdate`]: left as it is, cleared, or set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Setting<T> {
    /// Not sent: the server keeps what it has.
    #[default]
    Keep,
    /// Sent as `null`: the server clears it.
    Clear,
    /// Sent.
    Set(T),
}

/// What `PUT /v1/skus/{sku}/sale` changes; every setting is kept unless named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaleUpdate {
    /// Takes before it are refused (`not_on_sale`), on Redis's clock.
    pub opens_at: Setting<Timestamp>,
    /// Takes from it on are refused (`not_on_sale`).
    pub closes_at: Setting<Timestamp>,
    /// Units one customer may buy and hold of the SKU.
    pub per_customer_limit: Setting<u32>,
    /// Active holds one customer may have on the SKU.
    pub max_active_holds_per_customer: Setting<u32>,
}

/// A SKU's sale settings with the SKU, as `GET` and `PUT …/sale` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SaleSettings {
    /// The SKU.
    pub sku: Sku,
    /// The settings.
    #[serde(flatten)]
    pub sale: Sale,
}

/// A SKU's sale settings (`None`: not set), as they also show in its stock object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sale {
    /// When takes open.
    pub opens_at: Option<Timestamp>,
    /// When takes close.
    pub closes_at: Option<Timestamp>,
    /// Units per customer.
    pub per_customer_limit: Option<i64>,
    /// Active holds per customer.
    pub max_active_holds_per_customer: Option<i64>,
}

fn put<T>(body: &mut Map<String, Value>, name: &str, setting: Setting<T>, value: impl Fn(T) -> Value) {
    match setting {
        Setting::Keep => {}
        Setting::Clear => {
            body.insert(name.to_owned(), Value::Null);
        }
        Setting::Set(v) => {
            body.insert(name.to_owned(), value(v));
        }
    }
}

impl Client {
    /// `PUT /v1/skus/{sku}/sale` (admin): change the settings `update` names.
    pub async fn set_sale(&self, sku: &Sku, update: SaleUpdate) -> Result<SaleSettings, Error> {
        let mut body = Map::new();
        let time = |t: Timestamp| json!(t.to_rfc3339());
        put(&mut body, "opens_at", update.opens_at, time);
        put(&mut body, "closes_at", update.closes_at, time);
        put(&mut body, "per_customer_limit", update.per_customer_limit, |n| json!(n));
        put(
            &mut body,
            "max_active_holds_per_customer",
            update.max_active_holds_per_customer,
            |n| json!(n),
        );
        let call = Call::keyed(Method::PUT, &["v1", "skus", sku.as_str(), "sale"]);
        self.json(call.body(Value::Object(body))).await
    }

    /// `GET /v1/skus/{sku}/sale`.
    pub async fn sale(&self, sku: &Sku) -> Result<SaleSettings, Error> {
        self.json(Call::get(&["v1", "skus", sku.as_str(), "sale"])).await
    }
}

/// A waiting room's ticket (`POST …/queue`, `GET …/queue/{ticket}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketView {
    /// The ticket: keep it to ask again.
    pub ticket: Ticket,
    /// `waiting`, `admitted`, `expired` or `sold_out`.
    pub state: String,
    /// While waiting after the opening: 1 for the next one admitted.
    pub position: Option<u64>,
    /// While admitted: the token for [`Client::with_admission`].
    #[serde(default)]
    pub admission: Option<String>,
    /// While admitted: when the admission ends (epoch ms).
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl Client {
    /// `POST /v1/skus/{sku}/queue`: join a SKU's waiting room (the customer's ticket from
    /// before, when they have one).
    pub async fn join_queue(&self, sku: &Sku, user: &UserId) -> Result<TicketView, Error> {
        // Joining again answers the same ticket, so a retry is safe as a keyed call's is.
        let call = Call::keyed(Method::POST, &["v1", "skus", sku.as_str(), "queue"]);
        self.json(call.body(json!({"user_id": user}))).await
    }

    /// `GET /v1/skus/{sku}/queue/{ticket}`.
    pub async fn ticket(&self, sku: &Sku, ticket: &Ticket) -> Result<TicketView, Error> {
        self.json(Call::get(&["v1", "skus", sku.as_str(), "queue", ticket.as_str()]))
            .await
    }
}
