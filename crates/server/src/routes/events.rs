use super::auth::Reader;
use super::extract::AppState;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use futures_util::stream;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// A comment line this often keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// `GET /v1/events`: every committed stock change, from any process on this Redis, as server-sent events
/// (`event: stock`, data = the stock object plus `kind`, `strategy`, `attempts`,
/// `conflicts`), and every alert raised (`event: alert`, data = the alert as
/// `GET /v1/alerts` lists it). A client too slow to keep up gets `event: lagged` with how many it missed;
/// the next event carries the full state again. The stream ends when the server stops.
#[utoipa::path(get, path = "/v1/events", tag = "ops",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    responses((status = 200, description = "text/event-stream of `stock` events (data: a StockEvent) and `alert` events (data: an Alert)", content_type = "text/event-stream", body = String),
        super::api::Unauthorized,
        super::api::Forbidden))]
pub(super) async fn events(_: Reader, state: web::Data<AppState>) -> HttpResponse {
    let store = &state.store;
    let feed = store.subscribe_stock().await;
    let alerts = crate::ops::subscribe_alerts(store);
    let clients = Connected::new(store.metrics().sse_clients.clone());
    let stopped = state.stop.subscribe();
    let opening = Bytes::from_static(b"retry: 1000\n: stockwatch stock events\n\n");
    let body = stream::unfold(
        (Some(opening), feed, alerts, stopped, clients),
        |(first, mut feed, mut alerts, mut stopped, clients)| async move {
            if let Some(first) = first {
                return Some((Ok::<_, actix_web::Error>(first), (None, feed, alerts, stopped, clients)));
            }
            let frame = tokio::select! {
                _ = stopped.recv() => return None,
                alert = alerts.recv() => match alert {
                    Ok(alert) => frame("alert", &alert),
                    Err(RecvError::Lagged(missed)) => lagged(missed),
                    Err(RecvError::Closed) => return None,
                },
                next = tokio::time::timeout(KEEPALIVE, feed.recv()) => match next {
                    Err(_) => Bytes::from_static(b": keepalive\n\n"),
                    Ok(Ok(event)) => frame("stock", &event),
                    Ok(Err(RecvError::Lagged(missed))) => lagged(missed),
                    Ok(Err(RecvError::Closed)) => return None,
                },
            };
            Some((Ok(frame), (None, feed, alerts, stopped, clients)))
        },
    );
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

fn lagged(missed: u64) -> Bytes {
    Bytes::from(format!("event: lagged\ndata: {{\"missed\":{missed}}}\n\n"))
}

fn frame(name: &str, event: &impl serde::Serialize) -> Bytes {
    let data = serde_json::to_string(event).expect("events serialize");
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// Counts an open stream in the `sse_clients` gauge for as long as it lives.
struct Connected(prometheus::IntGauge);

impl Connected {
    fn new(gauge: prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.dec();
    }
}
