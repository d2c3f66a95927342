//! One logical call: its attempts, the key they share, the waits between them and the
//! deadline over all of them. Every endpoint goes through [`Client::send`].

use crate::{Client, Error, Refusal};
use backon::Retryable;
use reqwest::{Method, StatusCode, header};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use std::time::Duration;
use stockwatch_domain::IdempotencyKey;
use tokio::time::Instant;

/// Whether repeating a call is safe, which decides what is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A write the server keys: sent with an `Idempotency-Key`, so every retry is the same
    /// call and the server answers a repeat with the first answer.
    Keyed,
    /// A read: repeating it changes nothing.
    Read,
    /// A write the server does not key (the demos): retried only when it was refused
    /// before it ran (a 503) or never left (no connection).
    Once,
}

/// A request, before its attempts.
#[derive(Debug)]
pub(crate) struct Call {
    method: Method,
    /// Path segments after the base URL, each percent-encoded as one segment.
    path: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
    /// A body that is not JSON: its bytes and `Content-Type` (an NDJSON import).
    raw: Option<(bytes::Bytes, &'static str)>,
    /// Headers of this call alone (a waiting room's `Admission`).
    headers: Vec<(&'static str, String)>,
    kind: Kind,
}

impl Call {
    pub(crate) fn new(method: Method, kind: Kind, path: &[&str]) -> Self {
        Self {
            method,
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            raw: None,
            headers: Vec::new(),
            kind,
        }
    }

    pub(crate) fn get(path: &[&str]) -> Self {
        Self::new(Method::GET, Kind::Read, path)
    }

    pub(crate) fn keyed(method: Method, path: &[&str]) -> Self {
        Self::new(method, Kind::Keyed, path)
    }

    pub(crate) fn body(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    pub(crate) fn raw(mut self, body: bytes::Bytes, content_type: &'static str) -> Self {
        self.raw = Some((body, content_type));
        self
    }

    pub(crate) fn header(mut self, name: &'static str, value: Option<String>) -> Self {
        self.headers.extend(value.map(|v| (name, v)));
        self
    }

    pub(crate) fn query(mut self, name: &'static str, value: Option<String>) -> Self {
        self.query.extend(value.map(|v| (name, v)));
        self
    }
}

/// What one attempt ended with, when it did not succeed.
#[derive(Debug)]
enum Failure {
    Refused(Refusal),
    Transport(reqwest::Error),
}

impl Failure {
    fn retryable(&self, kind: Kind) -> bool {
        match self {
            // A gateway or an overloaded server: the call did not run, or its key holds it.
            Self::Refused(r) => matches!(r.status, 502..=504) && (kind != Kind::Once || r.status == 503),
            Self::Transport(e) => e.is_connect() || kind != Kind::Once,
        }
    }

    fn retry_after(&self) -> Duration {
        match self {
            Self::Refused(r) => r.retry_after.unwrap_or_default(),
            Self::Transport(_) => Duration::ZERO,
        }
    }

    fn into_error(self, key: Option<IdempotencyKey>) -> Error {
        match self {
            Self::Refused(r) => Error::Refused(r),
            Self::Transport(e) if e.is_connect() => Error::Unreachable(e),
            Self::Transport(e) => Error::Unknown { key, source: e },
        }
    }
}

/// A successful answer's body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) body: bytes::Bytes,
}

impl Client {
    /// Runs `call`: the same request, with the same key, until it is answered, refused for
    /// good, or the deadline leaves no time for the next wait.
    pub(crate) async fn send(&self, call: Call) -> Result<Answer, Error> {
        let deadline = Instant::now() + self.inner.deadline;
        let key = (call.kind == Kind::Keyed).then(|| self.key.clone().unwrap_or_else(IdempotencyKey::generate));
        let url = self.url(&call);
        let attempt = || self.attempt(&call, &url, key.as_ref(), deadline);
        attempt
            .retry(self.inner.backoff)
            .sleep(tokio::time::sleep)
            .when(|f: &Failure| f.retryable(call.kind))
            .adjust(|f, wait| {
                // The server's Retry-After is a floor; a wait that would end past the
                // deadline ends the call instead.
                let wait = wait?.max(f.retry_after());
                (Instant::now() + wait < deadline).then_some(wait)
            })
            .await
            .map_err(|f| f.into_error(key.clone()))
    }

    /// [`Self::send`], reading the answer as `T` (an empty body reads as JSON `null`, which
    /// is what `()` is).
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let answer = self.send(call).await?;
        let body: &[u8] = if answer.body.is_empty() { b"null" } else { &answer.body };
        serde_json::from_slice(body).map_err(|e| Error::Unexpected {
            status: 200,
            message: format!(
                "{e}: {}",
                String::from_utf8_lossy(body).chars().take(200).collect::<String>()
            ),
        })
    }

    fn url(&self, call: &Call) -> url::Url {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .expect("the base is an http(s) URL")
            .pop_if_empty()
            .extend(&call.path);
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        url
    }

    /// Sends `call` once and returns as soon as the answer's head is in, its body unread:
    /// for a stream, which has no end to wait for and so no timeout but the connection's.
    pub(crate) async fn head(&self, call: Call) -> Result<reqwest::Response, Error> {
        let url = self.url(&call);
        let sent = self.request(&call, &url).send().await;
        sent.map_err(|e| Failure::Transport(e).into_error(None))
    }

    /// The request for `call`, with this client's credential.
    fn request(&self, call: &Call, url: &url::Url) -> reqwest::RequestBuilder {
        let request = self.inner.http.request(call.method.clone(), url.clone());
        match &self.inner.token {
            Some(token) => request.bearer_auth(token.expose_secret()),
            None => request,
        }
    }

    async fn attempt(
        &self,
        call: &Call,
        url: &url::Url,
        key: Option<&IdempotencyKey>,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut request = self.request(call, url).timeout(self.inner.attempt_timeout.min(left));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key.as_str());
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        if let Some((body, content_type)) = &call.raw {
            request = request.header(header::CONTENT_TYPE, *content_type).body(body.clone());
        }
        let response = request.send().await.map_err(Failure::Transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(Failure::Transport)?;
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(Answer { body });
        }
        Err(Failure::Refused(Refusal::read(status.as_u16(), &body, retry_after)))
    }
}
