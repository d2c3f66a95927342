//! Trace export over OTLP (`--otlp-endpoint`, off by default): one server span per request,
//! a child of the caller's `traceparent` when it sent one, sent in batches over OTLP/HTTP
//! (protobuf) to a collector.
//!
//! The span is made with the OpenTelemetry SDK rather than from the `tracing` spans: a
//! request has one span worth exporting (the request's), and its id must be known when the
//! response is written, to be echoed in `traceparent`. The SDK's batch processor sends from a
//! thread of its own, so a slow or absent collector never holds up a request; spans it
//! cannot queue are dropped.

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use std::time::{Duration, SystemTime};

/// How long spans gather before a batch is sent: short, so that a trace shows up in the
/// collector about as soon as its request is answered.
const SEND_EVERY: Duration = Duration::from_millis(500);

/// Why trace export could not start.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// Not an `http://` or `https://` URL.
    #[error("--otlp-endpoint {0}: expected an http:// or https:// URL of an OTLP collector")]
    Url(String),
    /// The exporter refused its settings.
    #[error("--otlp-endpoint: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The exporter of request spans. Cheap to clone: every worker shares one batch processor.
#[derive(Clone)]
pub struct TraceExport {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl std::fmt::Debug for TraceExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceExport").finish_non_exhaustive()
    }
}

/// A caller's trace context, as read from a valid `traceparent`.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// 32 lowercase hex digits.
    pub trace_id: &'a str,
    /// The caller's span: 16 lowercase hex digits.
    pub parent_id: &'a str,
    /// Two hex digits; bit 0 says whether the caller samples the trace.
    pub flags: &'a str,
}

/// A request's span, open until [`RequestTrace::end`].
#[derive(Debug)]
pub struct RequestTrace {
    span: opentelemetry_sdk::trace::Span,
}

impl TraceExport {
    /// Starts exporting to the collector at `endpoint`: its base URL (`http://host:4318`),
    /// to which `/v1/traces` is added, or the full URL of its traces endpoint.
    pub fn start(endpoint: &str) -> Result<Self, OtlpError> {
        let base = endpoint.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) || url::Url::parse(base).is_err() {
            return Err(OtlpError::Url(endpoint.to_owned()));
        }
        let url = if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .with_timeout(Duration::from_secs(5))
            .build()?;
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(BatchConfigBuilder::default().with_scheduled_delay(SEND_EVERY).build())
            .build();
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("stockwatch")
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("stockwatch");
        Ok(Self { provider, tracer })
    }

    /// Opens a request's server span, as a child of `caller`'s span when there is one (and
    /// sampled as the caller says), else as the root of a new trace.
    pub fn begin(&self, caller: Option<Caller<'_>>, started: SystemTime) -> RequestTrace {
        let parent = caller
            .and_then(|c| {
                let flags = u8::from_str_radix(c.flags, 16).ok()?;
                let context = SpanContext::new(
                    TraceId::from_hex(c.trace_id).ok()?,
                    SpanId::from_hex(c.parent_id).ok()?,
                    TraceFlags::new(flags),
                    true,
                    TraceState::default(),
                );
                Some(Context::new().with_remote_span_context(context))
            })
            .unwrap_or_default();
        let span = self
            .tracer
            .span_builder("request")
            .with_kind(SpanKind::Server)
            .with_start_time(started)
            .start_with_context(&self.tracer, &parent);
        RequestTrace { span }
    }

    /// Sends what is queued and stops the batch thread. Blocks until done (at most the
    /// exporter's timeout): call it once, as the server stops.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "trace export: spans still queued may be lost");
        }
    }
}

impl RequestTrace {
    /// The trace id, as `traceparent` writes it.
    pub fn trace_id(&self) -> String {
        self.span.span_context().trace_id().to_string()
    }

    /// This server's span id, as `traceparent` writes it: the parent of the caller's next
    /// span.
    pub fn span_id(&self) -> String {
        self.span.span_context().span_id().to_string()
    }

    /// The flags to pass on: the caller's, or sampled for a trace this server began.
    pub fn flags(&self) -> String {
        format!("{:02x}", self.span.span_context().trace_flags().to_u8())
    }

    /// Names the span by its route (`POST /v1/purchases`) and closes it with what the
    /// request came to.
    pub fn end(mut self, method: &str, route: &str, path: &str, status: u16, request_id: &str, strategy: Option<&str>) {
        self.span.update_name(format!("{method} {route}"));
        let mut attributes = vec![
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("http.route", route.to_owned()),
            KeyValue::new("url.path", path.to_owned()),
            KeyValue::new("http.response.status_code", i64::from(status)),
            KeyValue::new("stockwatch.request_id", request_id.to_owned()),
        ];
        attributes.extend(strategy.map(|s| KeyValue::new("stockwatch.strategy", s.to_owned())));
        self.span.set_attributes(attributes);
        if status >= 500 {
            self.span.set_status(Status::error(format!("answered {status}")));
        }
        self.span.end();
    }
}
