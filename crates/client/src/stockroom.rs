//! Stock levels, locations, transfers, adjustments, movements and alert rules. The writes
//! are admin calls: the client's token must be the admin token or an `admin` key.

use crate::call::{Call, Kind};
use crate::model::{AlertRules, ImportSummary, Movement, Retired, Stock};
use crate::{Client, Error};
use reqwest::Method;
use serde_json::json;
use stockwatch_domain::{
    Adjusted, Available, CatalogRow, Correction, Limit, Location, Priority, Quantity, Reason, Sku, SkuPrefix,
};

/// A SKU's alert rules, as `PUT /v1/skus/{sku}/alerts` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rules {
    /// Raise `low_stock` when `available` drops below this.
    pub low_stock_threshold: u32,
    /// Raise `reorder` below this point, asking for this quantity: `(point, quantity)`.
    pub reorder: Option<(u32, u32)>,
}

impl Client {
    /// `GET /v1/skus/{sku}`.
    pub async fn stock(&self, sku: &Sku) -> Result<Stock, Error> {
        self.json(Call::get(&["v1", "skus", sku.as_str()])).await
    }

    /// `PUT /v1/skus/{sku}/stock` (admin): sets `available` at the `default` location,
    /// creating the SKU.
    pub async fn set_stock(&self, sku: &Sku, available: Available) -> Result<Stock, Error> {
        let call = Call::keyed(Method::PUT, &["v1", "skus", sku.as_str(), "stock"]);
        self.json(call.body(json!({"available": available}))).await
    }

    /// `DELETE /v1/skus/{sku}` (admin): retires the SKU; its orders stay readable. Refused
    /// with `sku_in_use` while units are reserved.
    pub async fn retire_sku(&self, sku: &Sku) -> Result<Retired, Error> {
        self.json(Call::keyed(Method::DELETE, &["v1", "skus", sku.as_str()]))
            .await
    }

    /// `POST /v1/skus/{sku}/restock` (admin): adds units, at `location` when given.
    pub async fn restock(&self, sku: &Sku, quantity: Quantity, location: Option<&Location>) -> Result<Stock, Error> {
        let mut body = json!({"quantity": quantity});
        if let Some(location) = location {
            body["location"] = json!(location);
        }
        let call = Call::keyed(Method::POST, &["v1", "skus", sku.as_str(), "restock"]);
        self.json(call.body(body)).await
    }

    /// `PUT /v1/skus/{sku}/locations/{location}/stock` (admin): sets `available` at one
    /// location (and its draw priority), creating the SKU and the location.
    pub async fn set_location_stock(
        &self,
        sku: &Sku,
        location: &Location,
        available: Available,
        priority: Option<Priority>,
    ) -> Result<Stock, Error> {
        let mut body = json!({"available": available});
        if let Some(priority) = priority {
            body["priority"] = json!(priority);
        }
        let path = ["v1", "skus", sku.as_str(), "locations", location.as_str(), "stock"];
        self.json(Call::keyed(Method::PUT, &path).body(body)).await
    }

    /// `POST /v1/skus/{sku}/transfers` (admin): moves available units between locations.
    pub async fn transfer(
        &self,
        sku: &Sku,
        from: &Location,
        to: &Location,
        quantity: Quantity,
    ) -> Result<Stock, Error> {
        let call = Call::keyed(Method::POST, &["v1", "skus", sku.as_str(), "transfers"]);
        self.json(call.body(json!({"from": from, "to": to, "quantity": quantity})))
            .await
    }

    /// `POST /v1/skus/{sku}/locations/{location}/adjustments` (admin): corrects a count.
    pub async fn adjust(
        &self,
        sku: &Sku,
        location: &Location,
        correction: Correction,
        reason: Reason,
    ) -> Result<Stock, Error> {
        self.adjust_counter(sku, location, correction, reason, Adjusted::Available)
            .await
    }

    /// An adjustment of one counter (`available` or `damaged`).
    pub(crate) async fn adjust_counter(
        &self,
        sku: &Sku,
        location: &Location,
        correction: Correction,
        reason: Reason,
        of: Adjusted,
    ) -> Result<Stock, Error> {
        let mut body = match correction {
            Correction::Counted(n) => json!({"counted": n, "reason": reason}),
            Correction::Delta(d) => json!({"delta": d, "reason": reason}),
        };
        if of == Adjusted::Damaged {
            body["counter"] = json!("damaged");
        }
        let path = [
            "v1",
            "skus",
            sku.as_str(),
            "locations",
            location.as_str(),
            "adjustments",
        ];
        self.json(Call::keyed(Method::POST, &path).body(body)).await
    }

    /// `GET /v1/skus/{sku}/movements`: newest first, `limit` of them (100 when `None`).
    pub async fn movements(&self, sku: &Sku, limit: Option<Limit>) -> Result<Vec<Movement>, Error> {
        #[derive(serde::Deserialize)]
        struct Page {
            movements: Vec<Movement>,
        }
        let call =
            Call::get(&["v1", "skus", sku.as_str(), "movements"]).query("limit", limit.map(|l| l.get().to_string()));
        Ok(self.json::<Page>(call).await?.movements)
    }

    /// `PUT /v1/skus/{sku}/alerts` (admin).
    pub async fn set_alert_rules(&self, sku: &Sku, rules: Rules) -> Result<AlertRules, Error> {
        let mut body = json!({"low_stock_threshold": rules.low_stock_threshold});
        if let Some((point, quantity)) = rules.reorder {
            body["reorder_point"] = json!(point);
            body["reorder_quantity"] = json!(quantity);
        }
        let call = Call::keyed(Method::PUT, &["v1", "skus", sku.as_str(), "alerts"]);
        self.json(call.body(body)).await
    }

    /// `GET /v1/skus/{sku}/alerts`.
    pub async fn alert_rules(&self, sku: &Sku) -> Result<AlertRules, Error> {
        self.json(Call::get(&["v1", "skus", sku.as_str(), "alerts"])).await
    }
}

impl Client {
    /// `GET /v1/skus`: a page of the catalog in name order, after `after` (the last page's
    /// `next`) and starting with `prefix` when given; the page's SKUs and the next cursor.
    pub async fn skus(
        &self,
        after: Option<&Sku>,
        prefix: Option<&SkuPrefix>,
        limit: Option<Limit>,
    ) -> Result<(Vec<Stock>, Option<Sku>), Error> {
        #[derive(serde::Deserialize)]
        struct Page {
            skus: Vec<Stock>,
            next: Option<Sku>,
        }
        let call = Call::get(&["v1", "skus"])
            .query("after", after.map(|s| s.as_str().to_owned()))
            .query("prefix", prefix.map(|p| p.as_str().to_owned()))
            .query("limit", limit.map(|l| l.get().to_string()));
        let page: Page = self.json(call).await?;
        Ok((page.skus, page.next))
    }
}

impl Client {
    /// `POST /v1/skus/import` (admin): sets each row's level and rules, one transaction per
    /// row, and says what each did. Retried like a read: a row that already landed is
    /// `unchanged` the second time, so repeating an import is safe (its counts then say so).
    pub async fn import_skus(&self, rows: &[CatalogRow]) -> Result<ImportSummary, Error> {
        let mut body = Vec::new();
        for row in rows {
            serde_json::to_writer(&mut body, row).expect("a row serializes");
            body.push(b'\n');
        }
        let call = Call::new(Method::POST, Kind::Read, &["v1", "skus", "import"]);
        self.json(call.raw(body.into(), "application/x-ndjson")).await
    }
}
