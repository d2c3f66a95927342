//! The middleware every request passes through: a request id (taken from `X-Request-Id`
//! when the client sent a sane one, else a new UUIDv7, and echoed back), the caller's W3C
//! trace context (`traceparent`: its trace id joins the span, and the response carries it
//! on), a root span that carries them, one log line per answered request, and the HTTP
//! metrics.

use super::extract::AppState;
use crate::error::Error;
use crate::otlp::Caller;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use tracing::Instrument;
use tracing::field::Empty;

/// Most bytes of request headers (names and values) accepted; more is a `431` with the
/// contract's error JSON. (Heads over actix's own 128 KiB buffer get actix's plain 431.)
pub const HEADER_LIMIT: usize = 16 * 1024;

/// The request id header, read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client-sent id is kept when it is 1–128 characters of `A-Z a-z 0-9 - _ . :`, so it
/// can be logged as is; anything else is replaced.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The W3C trace context header, read and answered.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// A valid `traceparent` (W3C Trace Context): `00-<trace id>-<parent id>-<flags>`, lowercase
/// hex, neither id all zeros; a later version is read by its first four fields. Anything
/// else is ignored, as the recommendation says: the request is served as if it had none.
fn trace_context(req: &ServiceRequest) -> Option<Caller<'_>> {
    let value = req.headers().get(&TRACEPARENT)?.to_str().ok()?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut parts = value.splitn(5, '-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let later = parts.next().is_some();
    let ok = hex(version, 2)
        && version != "ff"
        && (version != "00" || !later)
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0')
        && parent.bytes().any(|b| b != b'0');
    ok.then_some(Caller {
        trace_id: trace,
        parent_id: parent,
        flags,
    })
}

/// The request's root span, for handlers to record what they learned (attempts).
#[derive(Debug, Clone)]
pub struct RequestSpan {
    span: tracing::Span,
    /// The strategy the query string names, when it names one (once, and a known one): the
    /// span was opened with it, and a field recorded twice is written twice.
    strategy: Option<crate::domain::Strategy>,
    /// What the handler learned, recorded by the middleware with the status in one call
    /// (each record formats into the span again).
    took: std::rc::Rc<std::cell::Cell<Option<(crate::domain::Strategy, u32)>>>,
}

impl RequestSpan {
    /// Notes the strategy the request ran on and the attempts its transaction took; they
    /// reach the span when the request is answered, before its log line.
    pub fn took(&self, strategy: crate::domain::Strategy, attempts: u32) {
        self.took.set(Some((strategy, attempts)));
    }

    /// Records what the handler noted, then the operation and the status: one call, the
    /// fields in the order separate calls wrote them.
    fn answered(&self, operation: &str, status: u16) {
        let took = self.took.get();
        let strategy = took.filter(|_| self.strategy.is_none()).map(|(s, _)| s.as_str());
        let attempts = took.map(|(_, a)| a);
        let span = &self.span;
        tracing::record_all!(
            span,
            strategy = strategy,
            attempts = attempts,
            operation = operation,
            status = status
        );
    }
}

impl FromRequest for RequestSpan {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let span = req
            .extensions()
            .get::<RequestSpan>()
            .cloned()
            .unwrap_or_else(|| RequestSpan {
                span: tracing::Span::none(),
                strategy: None,
                took: Default::default(),
            });
        std::future::ready(Ok(span))
    }
}

/// Wraps every request: see the module docs.
pub async fn observe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let id = request_id(&req);
    // The query string, read once: a parameter given twice refuses the request (below),
    // and the strategy it names goes to the span and to the handler (`StrategyParam`).
    let screened = super::extract::screened(req.request());
    let strategy = screened
        .as_ref()
        .ok()
        .and_then(|s| s.0.as_ref()?.as_ref().ok().copied());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // With export on, this request's span in the exported trace (a new trace when the
    // caller sent none); without, the caller's trace id and flags only, passed on.
    let exported = state.as_ref().and_then(|s| s.traces.as_ref()).map(|traces| {
        let started = std::time::SystemTime::now() - started.elapsed();
        traces.begin(trace_context(&req), started)
    });
    let trace = match &exported {
        Some(exported) => Some((exported.trace_id(), exported.flags())),
        None => trace_context(&req).map(|c| (c.trace_id.to_owned(), c.flags.to_owned())),
    };
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        trace_id = Empty,
        method = %req.method(),
        path = %req.path(),
        operation = Empty,
        // Given at creation when the query string names it (one record call less); else
        // recorded by the handler (`RequestSpan::took`).
        strategy = strategy.map(crate::domain::Strategy::as_str),
        attempts = Empty,
        status = Empty,
    );
    if let Some((trace_id, _)) = &trace {
        span.record("trace_id", trace_id.as_str());
    }
    let noted = RequestSpan {
        span: span.clone(),
        strategy,
        took: Default::default(),
    };
    req.extensions_mut().insert(noted.clone());
    let header_bytes: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    let malformed = if header_bytes > HEADER_LIMIT {
        Some(Error::HeadersTooLarge { limit: HEADER_LIMIT })
    } else {
        match screened {
            Ok(named) => {
                req.extensions_mut().insert(named);
                None
            }
            Err(refusal) => Some(refusal),
        }
    };
    // HEAD is GET without the body (RFC 9110 §9.3.2): routed as GET, answered with GET's
    // status and headers; actix's codec remembers the request was HEAD and sends no body.
    let head = req.method() == Method::HEAD;
    let mut res = if let Some(refusal) = malformed {
        req.error_response(refusal)
    } else {
        if head {
            req.head_mut().method = Method::GET;
        }
        next.call(req).instrument(span.clone()).await?.map_into_boxed_body()
    };

    let status = res.status().as_u16();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let elapsed = started.elapsed();
    noted.answered(&format!("{} {route}", res.request().method()), status);
    if let Some(state) = state {
        state
            .store
            .metrics()
            .http(&route, res.request().method().as_str(), status, elapsed);
        if let Some(Error::Store(e)) = res.response().error().and_then(|e| e.as_error::<Error>()) {
            state.store.metrics().redis_error(e);
        }
    }
    // Microsecond precision: enough, and a short number to format and write.
    let latency_ms = elapsed.as_micros() as f64 / 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms, "request answered");
        } else {
            tracing::info!(status, latency_ms, "request answered");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    // The trace goes on: the caller's trace id, this server's span as the parent.
    if let Some((trace_id, flags)) = trace {
        let parent = match &exported {
            Some(exported) => exported.span_id(),
            None => hex::encode(rand::random::<[u8; 8]>()),
        };
        if let Ok(value) = HeaderValue::from_str(&format!("00-{trace_id}-{parent}-{flags}")) {
            res.headers_mut().insert(TRACEPARENT, value);
        }
    }
    if let Some(exported) = exported {
        let method = res.request().method().as_str().to_owned();
        exported.end(
            &method,
            &route,
            res.request().path(),
            status,
            &id,
            strategy.map(crate::domain::Strategy::as_str),
        );
    }
    Ok(res)
}
