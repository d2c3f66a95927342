//! Health, readiness, metrics, and the teaching demos.

use crate::call::{Call, Kind};
use crate::{Client, Error};
use reqwest::Method;
use serde_json::json;
use stockwatch_domain::{Available, Sku, Strategy};

impl Client {
    /// `GET /healthz`: `Ok` while the server's process runs.
    pub async fn healthz(&self) -> Result<(), Error> {
        self.send(Call::get(&["healthz"])).await.map(drop)
    }

    /// `GET /readyz`: `Ok` when the server reaches Redis; `503 redis_unavailable` otherwise
    /// (retried within the deadline, like every 503).
    pub async fn readyz(&self) -> Result<(), Error> {
        self.send(Call::get(&["readyz"])).await.map(drop)
    }

    /// `GET /metrics`: the Prometheus text.
    pub async fn metrics(&self) -> Result<String, Error> {
        let answer = self.send(Call::get(&["metrics"])).await?;
        Ok(String::from_utf8_lossy(&answer.body).into_owned())
    }

    /// `POST /v1/demo/rush` (admin): sets `sku`'s stock to `stock`, then `buyers` buyers
    /// each buy one unit at once by `strategy`. The answer is the teaching report the
    /// dashboard draws (who won, stock over time), read as JSON.
    pub async fn rush(
        &self,
        sku: &Sku,
        buyers: u32,
        stock: Available,
        strategy: Strategy,
    ) -> Result<serde_json::Value, Error> {
        let body = json!({"sku": sku, "buyers": buyers, "stock": stock, "strategy": strategy});
        self.json(Call::new(Method::POST, Kind::Once, &["v1", "demo", "rush"]).body(body))
            .await
    }

    /// `POST /v1/demo/replay` (admin): the lost update, step by step, with `buyers` buyers
    /// (A, B, …) racing for `stock` units by `strategy` (`broken` or `watch`), as JSON.
    pub async fn replay(&self, strategy: Strategy, buyers: u32, stock: u32) -> Result<serde_json::Value, Error> {
        let body = json!({"strategy": strategy, "buyers": buyers, "stock": stock});
        self.json(Call::new(Method::POST, Kind::Once, &["v1", "demo", "replay"]).body(body))
            .await
    }
}
