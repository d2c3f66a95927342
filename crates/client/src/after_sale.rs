//! An order's life after its sale: cancel it, take units back, and count damaged stock.

use crate::call::Call;
use crate::model::{Allocation, Order, Stock};
use crate::{Client, Error};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use stockwatch_domain::{
    Adjusted, Correction, Disposition, Location, OrderId, OrderStatus, Reason, ReturnId, ReturnItems, Sku,
};

/// One return (or the cancellation) of an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderReturn {
    /// The return.
    pub return_id: ReturnId,
    /// True for the order's cancellation.
    #[serde(default)]
    pub cancel: bool,
    /// When (epoch ms).
    pub at: i64,
    /// What came back.
    pub lines: Vec<ReturnLine>,
}

/// One line of a return.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReturnLine {
    /// The SKU.
    pub sku: Sku,
    /// Units.
    pub quantity: i64,
    /// `restock` or `damaged`.
    pub disposition: Disposition,
    /// Where they went, when named (else each to where it was sold from).
    #[serde(default)]
    pub location: Option<Location>,
    /// The locations whose sales they undid.
    pub from: Vec<Allocation>,
}

/// The answer of [`Client::return_order`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Returned {
    /// The return.
    pub return_id: ReturnId,
    /// Its order.
    pub order_id: OrderId,
    /// The order's status after it.
    pub status: OrderStatus,
    /// What came back.
    pub lines: Vec<ReturnLine>,
}

/// The answer of [`Client::set_preorders`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PreorderSettings {
    /// The SKU.
    pub sku: Sku,
    /// Whether it sells against incoming stock.
    pub enabled: bool,
    /// At most this many units preordered at once.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Units on their way.
    pub incoming: i64,
    /// Units of them already preordered.
    pub preordered: i64,
}

impl Client {
    /// `PUT /v1/skus/{sku}/preorders` (admin, v1.5): `Some(limit)` turns preorders on (a
    /// `None` limit: as many as are incoming), `None` turns them off.
    pub async fn set_preorders(&self, sku: &Sku, on: Option<Option<i64>>) -> Result<PreorderSettings, Error> {
        let body = match on {
            None => json!({"enabled": false}),
            Some(limit) => json!({"enabled": true, "limit": limit}),
        };
        let call = Call::keyed(Method::PUT, &["v1", "skus", sku.as_str(), "preorders"]);
        self.json(call.body(body)).await
    }

    /// `POST /v1/orders/{id}/cancel`: every unit back where it was sold from, on sale again
    /// or (`Disposition::Damaged`) counted as damaged. Keyed, so a retry never cancels twice.
    pub async fn cancel_order(&self, id: OrderId, disposition: Disposition) -> Result<Order, Error> {
        let call = Call::keyed(Method::POST, &["v1", "orders", &id.to_string(), "cancel"]);
        self.json(call.body(json!({"disposition": disposition}))).await
    }

    /// `POST /v1/orders/{id}/returns` (admin): units of the order come back. Keyed, so a
    /// retry never takes them back twice.
    pub async fn return_order(&self, id: OrderId, lines: &ReturnItems) -> Result<Returned, Error> {
        let call = Call::keyed(Method::POST, &["v1", "orders", &id.to_string(), "returns"]);
        self.json(call.body(json!({"lines": lines}))).await
    }

    /// `POST …/adjustments` of the damaged units at `location` (admin, v1.5): more are taken
    /// from `available`; fewer were written off or, with [`Reason::Inspected`], are on sale
    /// again.
    pub async fn adjust_damaged(
        &self,
        sku: &Sku,
        location: &Location,
        correction: Correction,
        reason: Reason,
    ) -> Result<Stock, Error> {
        self.adjust_counter(sku, location, correction, reason, Adjusted::Damaged)
            .await
    }
}
