//! Request bodies of alerts and webhooks; same rules as `super::requests`.

use crate::convert;
use crate::domain::{AlertKind, Field, InvalidInput, whole_in};
use crate::ops::level::Rules;
use crate::webhooks::{NewWebhook, WebhookConfig, guard};
use serde::Deserialize;
use utoipa::ToSchema;

/// `PUT /v1/skus/{sku}/alerts`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"low_stock_threshold": 10, "reorder_point": 5, "reorder_quantity": 50}))]
pub struct AlertRulesRequest {
    /// `low_stock` when `available` drops below it; `out_of_stock` at 0; `back_in_stock`
    /// when it is reached again.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 0, maximum = 1_000_000_000, example = 10)]
    pub low_stock_threshold: Field,
    /// `reorder` when `available` drops below it; needs `reorder_quantity`.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000_000)]
    pub reorder_point: Field,
    /// The quantity a `reorder` suggests; needs `reorder_point`.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000_000)]
    pub reorder_quantity: Field,
}

impl TryFrom<&AlertRulesRequest> for Rules {
    type Error = InvalidInput;

    fn try_from(body: &AlertRulesRequest) -> Result<Self, InvalidInput> {
        let level = |f: &Field, name: &str, min: u64| -> Result<Option<i64>, InvalidInput> {
            f.optional()
                .map(|v| whole_in(v, name, min..=1_000_000_000).map(convert::i64_of))
                .transpose()
        };
        let threshold = whole_in(
            body.low_stock_threshold.required("low_stock_threshold")?,
            "low_stock_threshold",
            0..=1_000_000_000,
        )?;
        let (point, quantity) = (
            level(&body.reorder_point, "reorder_point", 0)?,
            level(&body.reorder_quantity, "reorder_quantity", 1)?,
        );
        if point.is_some() != quantity.is_some() {
            return Err(InvalidInput::new(
                "give reorder_point and reorder_quantity together, or neither",
            ));
        }
        Ok(Rules {
            low_stock_threshold: Some(convert::i64_of(threshold)),
            reorder_point: point,
            reorder_quantity: quantity,
        })
    }
}

/// `POST /v1/webhooks`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"url": "http://127.0.0.1:9000/hooks", "secret": "whsec_0123456789abcdef", "events": ["low_stock", "out_of_stock"]}))]
pub struct WebhookRequest {
    /// `http(s)` to a host in `--webhook-allow-hosts`.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    pub url: Field,
    /// The HMAC-SHA256 key of the `X-Stockwatch-Signature` header: 16-256 visible ASCII
    /// characters. Never returned or logged.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 16, max_length = 256)]
    pub secret: Field,
    /// Alert types to receive: `low_stock`, `out_of_stock`, `back_in_stock`, `reorder`,
    /// `contention`.
    #[serde(default)]
    #[schema(value_type = Vec<String>, required = true, min_items = 1)]
    pub events: Field,
}

impl WebhookRequest {
    /// Checks the body against the contract and `config`'s allow list.
    pub fn parse(&self, config: &WebhookConfig) -> Result<NewWebhook, InvalidInput> {
        let text = |f: &Field, name: &str| -> Result<String, InvalidInput> {
            f.required(name)?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| InvalidInput::new(format!("{name} must be a string")))
        };
        let url = guard::check_url(config, &text(&self.url, "url")?)?;
        let secret = text(&self.secret, "secret")?;
        if !(16..=256).contains(&secret.len()) || !secret.chars().all(|c| c.is_ascii_graphic()) {
            return Err(InvalidInput::new("secret must be 16-256 visible ASCII characters"));
        }
        let refuse = || {
            InvalidInput::new(format!(
                "events must be a non-empty array of {}",
                AlertKind::ALL.map(AlertKind::as_str).join(", ")
            ))
        };
        let list = self
            .events
            .required("events")?
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(refuse)?;
        let mut events = Vec::new();
        for e in list {
            let kind = e.as_str().and_then(AlertKind::parse).ok_or_else(refuse)?;
            if !events.contains(&kind) {
                events.push(kind);
            }
        }
        Ok(NewWebhook {
            url,
            secret: secret.into(),
            events,
        })
    }
}
