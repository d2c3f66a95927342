//! Trace export (`--otlp-endpoint`): each request's span reaches a real OTLP/HTTP receiver,
//! as a child of the caller's `traceparent`, with the id the response passes on.

use crate::helpers::{AppOptions, spawn_app_with};
use crate::receiver::Receiver;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;
use std::time::Duration;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Every span the receiver got so far, each batch decoded as OTLP protobuf.
fn spans(receiver: &Receiver) -> Vec<Span> {
    let seen = receiver.seen.lock().unwrap();
    let mut spans = Vec::new();
    for (headers, body) in seen.iter() {
        assert!(
            headers
                .iter()
                .any(|(k, v)| k == "content-type" && v == "application/x-protobuf"),
            "{headers:?}"
        );
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for resource in request.resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
    }
    spans
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Any> {
    span.attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()
}

#[tokio::test]
async fn request_spans_reach_the_collector_under_the_callers_trace() {
    let receiver = Receiver::start(vec![200]).await;
    let options = AppOptions {
        otlp_endpoint: Some(receiver.url.clone()),
        ..AppOptions::default()
    };
    let app = spawn_app_with(options, |_| {}).await;
    app.set_stock("traced", 5).await;
    let send = |flags: &'static str| {
        app.client
            .post(format!("{}/v1/purchases?strategy=lua", app.address))
            .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-{flags}"))
            .json(&json!({"sku": "traced", "quantity": 1, "user_id": "u1"}))
            .send()
    };
    // Not sampled by the caller: served, passed on, not exported.
    let unsampled = send("00").await.unwrap();
    assert_eq!(unsampled.status(), 201);
    let sampled = send("01").await.unwrap();
    assert_eq!(sampled.status(), 201);
    let request_id = sampled.headers()["x-request-id"].to_str().unwrap().to_owned();
    let passed_on = sampled.headers()["traceparent"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = passed_on.split('-').collect();
    assert_eq!(
        (parts[0], parts[1], parts[3]),
        ("00", CALLER_TRACE, "01"),
        "{passed_on}"
    );
    assert_ne!(parts[2], CALLER_SPAN, "this server's span is the next parent");

    // Without a traceparent, the server begins a trace and says which.
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    let began = health.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(!began.contains(CALLER_TRACE), "{began}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let found = loop {
        let all = spans(&receiver);
        let began_trace = began.split('-').nth(1).unwrap();
        let ours = |s: &Span| s.name == "GET /healthz" && hex::encode(&s.trace_id) == began_trace;
        if all.iter().any(ours) && all.iter().any(|s| s.name == "POST /v1/purchases") {
            break all;
        }
        assert!(tokio::time::Instant::now() < deadline, "spans so far: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let purchases: Vec<&Span> = found.iter().filter(|s| s.name == "POST /v1/purchases").collect();
    assert_eq!(
        purchases.len(),
        1,
        "the unsampled request was exported too: {purchases:?}"
    );
    let span = purchases[0];
    assert_eq!(hex::encode(&span.trace_id), CALLER_TRACE);
    assert_eq!(hex::encode(&span.parent_span_id), CALLER_SPAN);
    assert_eq!(hex::encode(&span.span_id), parts[2], "the span the response names");
    assert_eq!(span.kind, 2, "a server span");
    assert_eq!(attribute(span, "http.response.status_code"), Some(&Any::IntValue(201)));
    assert_eq!(
        attribute(span, "stockwatch.request_id"),
        Some(&Any::StringValue(request_id))
    );
    assert_eq!(
        attribute(span, "stockwatch.strategy"),
        Some(&Any::StringValue("lua".into()))
    );
    assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    // (The test support's own readiness probe is a health check too, with a trace of its own.)
    let trace = began.split('-').nth(1).unwrap();
    let health = found
        .iter()
        .find(|s| s.name == "GET /healthz" && hex::encode(&s.trace_id) == trace)
        .unwrap_or_else(|| panic!("no health check span in trace {trace}: {found:?}"));
    assert!(health.parent_span_id.is_empty(), "a trace of its own");
}

#[test]
fn an_endpoint_that_is_not_an_http_url_is_refused() {
    for bad in ["ftp://collector:4318", "collector:4318", "http://"] {
        let err = stockwatch::otlp::TraceExport::start(bad).expect_err(bad);
        assert!(err.to_string().contains("--otlp-endpoint"), "{err}");
    }
}
