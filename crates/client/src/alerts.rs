//! Alerts, low stock, webhooks, dead letters, and the live event stream.

use crate::call::{Call, Kind};
use crate::model::{Alert, DeadLetter, LowStock, ReplayReport, Webhook};
use crate::{Client, Error, Event, Refusal};
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use stockwatch_domain::{AlertKind, Limit, Location, Sku};

impl Client {
    /// `GET /v1/alerts`: newest first, of one SKU or all, `limit` of them (100 when `None`).
    pub async fn alerts(&self, sku: Option<&Sku>, limit: Option<Limit>) -> Result<Vec<Alert>, Error> {
        #[derive(Deserialize)]
        struct Page {
            alerts: Vec<Alert>,
        }
        let call = Call::get(&["v1", "alerts"])
            .query("sku", sku.map(|s| s.as_str().to_owned()))
            .query("limit", limit.map(|l| l.get().to_string()));
        Ok(self.json::<Page>(call).await?.alerts)
    }

    /// `GET /v1/alerts/low-stock`: SKUs below their threshold now (per location when
    /// `location` is given), lowest first; the lowest `limit` when given, else all.
    pub async fn low_stock(&self, location: Option<&Location>, limit: Option<Limit>) -> Result<Vec<LowStock>, Error> {
        #[derive(Deserialize)]
        struct Page {
            skus: Vec<LowStock>,
        }
        let call = Call::get(&["v1", "alerts", "low-stock"])
            .query("location", location.map(|l| l.as_str().to_owned()))
            .query("limit", limit.map(|l| l.get().to_string()));
        Ok(self.json::<Page>(call).await?.skus)
    }

    /// `POST /v1/webhooks` (admin): alerts of the `events` types are POSTed to `url`,
    /// signed with `secret` (which the server never shows again).
    pub async fn create_webhook(
        &self,
        url: &str,
        secret: &SecretString,
        events: &[AlertKind],
    ) -> Result<Webhook, Error> {
        let body = json!({"url": url, "secret": secret.expose_secret(), "events": events});
        self.json(Call::keyed(Method::POST, &["v1", "webhooks"]).body(body))
            .await
    }

    /// `GET /v1/webhooks` (admin): oldest first.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, Error> {
        #[derive(Deserialize)]
        struct Page {
            webhooks: Vec<Webhook>,
        }
        Ok(self.json::<Page>(Call::get(&["v1", "webhooks"])).await?.webhooks)
    }

    /// `DELETE /v1/webhooks/{id}` (admin), with its dead letters.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), Error> {
        self.json(Call::keyed(Method::DELETE, &["v1", "webhooks", id])).await
    }

    /// `GET /v1/webhooks/dead-letters` (admin).
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, Error> {
        #[derive(Deserialize)]
        struct Page {
            dead_letters: Vec<DeadLetter>,
        }
        let call = Call::get(&["v1", "webhooks", "dead-letters"]);
        Ok(self.json::<Page>(call).await?.dead_letters)
    }

    /// `POST /v1/webhooks/dead-letters/replay` (admin): tries every dead letter again, or
    /// the one named.
    pub async fn replay_dead_letters(&self, id: Option<&str>) -> Result<ReplayReport, Error> {
        let call =
            Call::keyed(Method::POST, &["v1", "webhooks", "dead-letters", "replay"]).query("id", id.map(str::to_owned));
        self.json(call).await
    }

    /// `DELETE /v1/webhooks/dead-letters/{id}` (admin).
    pub async fn delete_dead_letter(&self, id: &str) -> Result<(), Error> {
        // The id is `<alert id>/<webhook id>`: each part is a path segment.
        let mut path = vec!["v1", "webhooks", "dead-letters"];
        path.extend(id.split('/'));
        self.json(Call::keyed(Method::DELETE, &path)).await
    }

    /// `GET /v1/events`: stock changes and alerts as they happen, until the stream is
    /// dropped or the server goes away (the stream then ends). Neither opening it nor the
    /// stream is retried: a caller that wants it for good opens it again.
    pub async fn events(&self) -> Result<impl Stream<Item = Result<Event, Error>> + use<>, Error> {
        use eventsource_stream::Eventsource;
        let response = self
            .open_stream(Call::new(Method::GET, Kind::Read, &["v1", "events"]))
            .await?;
        Ok(response.bytes_stream().eventsource().filter_map(|item| async move {
            let event = match item {
                Ok(event) => event,
                Err(e) => {
                    return Some(Err(Error::Unexpected {
                        status: 200,
                        message: format!("event stream: {e}"),
                    }));
                }
            };
            let unreadable = |e: serde_json::Error| Error::Unexpected {
                status: 200,
                message: format!("{} event: {e}", event.event),
            };
            match event.event.as_str() {
                "stock" => {
                    #[derive(Deserialize)]
                    struct Change {
                        #[serde(flatten)]
                        stock: crate::model::Stock,
                        kind: String,
                    }
                    let change = serde_json::from_str::<Change>(&event.data).map_err(unreadable);
                    Some(change.map(|c| Event::Stock {
                        stock: c.stock,
                        kind: c.kind,
                    }))
                }
                "alert" => Some(serde_json::from_str(&event.data).map(Event::Alert).map_err(unreadable)),
                // Comments, keep-alives and event types newer than this client.
                _ => None,
            }
        }))
    }

    /// The response of a streaming GET, once its head says success.
    async fn open_stream(&self, call: Call) -> Result<reqwest::Response, Error> {
        let response = self.head(call).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        Err(Error::Refused(Refusal::read(status, &body, None)))
    }
}
