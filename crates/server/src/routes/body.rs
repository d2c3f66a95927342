//! Request bodies: a typed JSON body read with the contract's limit, refusing a key given
//! twice; and the empty body of an endpoint that takes none.

use crate::domain::{InvalidInput, Top, check_strict};
use crate::error::Error;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// Largest request body accepted (the contract's 64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Oversized bodies up to this size are read to the end before the 413, so the client
/// gets the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// A request body of type `T` (one of [`super::api`]'s), read with the 64 KiB limit. It must
/// be a JSON object, whatever the `Content-Type` says (see docs/guides/operations.md: `curl -d` sends
/// `application/x-www-form-urlencoded` by default), with no key twice at any depth.
/// Anything else is a `400` that names what is wrong; an oversized body is a `413`.
#[derive(Debug)]
pub struct JsonBody<T> {
    body: T,
}

impl<T> JsonBody<T> {
    /// The typed body.
    pub(super) fn get(&self) -> &T {
        &self.body
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if let Some(declared) = declared.filter(|&n| n > BODY_LIMIT) {
                // Read (and drop) a modestly oversized body before answering: refusing while
                // the client still sends makes the kernel reset the connection, and the
                // client never reads its 413. Far larger bodies are refused at once.
                if declared <= DRAIN_LIMIT {
                    while let Some(Ok(_)) = payload.next().await {}
                }
                return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
            }
            let bytes = read_limited(&mut payload).await?;
            Ok(Self { body: typed(&bytes)? })
        })
    }
}

/// A body as `T`: a JSON object with no key twice, fitting `T`. Checked first without
/// building anything, then read straight into `T` (no `Value` tree in between).
fn typed<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match check_strict(bytes) {
        Ok(Top::Object) => {}
        Ok(Top::Other) => return Err(InvalidInput::new("body must be a JSON object").into()),
        Err(e) => return Err(InvalidInput::new(format!("body is not valid JSON: {e}")).into()),
    }
    // Bodies whose fields are `Field`s cannot fail here; a typed field would.
    serde_json::from_slice(bytes)
        .map_err(|e| InvalidInput::new(format!("body does not fit: {}", without_position(&e))).into())
}

/// A serde error's message without the " at line L column C" serde_json adds when it read
/// from bytes: the message says what does not fit, as it did when bodies were read through
/// a `Value`.
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&position) {
        Some(bare) => bare.to_owned(),
        None => message,
    }
}

/// An optional request body of type `T`: none (or a blank one) is `T::default()`, anything
/// else is read as [`JsonBody`] reads it. For an endpoint whose every field is optional.
#[derive(Debug)]
pub(super) struct OptionalBody<T> {
    body: T,
}

impl<T> OptionalBody<T> {
    /// The typed body.
    pub(super) fn get(&self) -> &T {
        &self.body
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalBody<T> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(_: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        Box::pin(async move {
            let bytes = read_limited(&mut payload).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Self { body: T::default() });
            }
            Ok(Self { body: typed(&bytes)? })
        })
    }
}

pub use crate::domain::strict_json;

/// Reads a whole body, refusing one over [`BODY_LIMIT`] with a `413`.
async fn read_limited(payload: &mut Payload) -> Result<web::BytesMut, Error> {
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| InvalidInput::new("request body could not be read"))?;
        if bytes.len() + chunk.len() > BODY_LIMIT {
            return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The body of an endpoint that takes none (confirm, cancel, delete, replay): it must be
/// empty, blank, or the empty JSON object `{}` that some clients always send. Anything else
/// is a `400`: a body that was meant to say something must not be silently ignored.
#[derive(Debug)]
pub struct NoBody;

impl FromRequest for NoBody {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(_: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        Box::pin(async move {
            let bytes = read_limited(&mut payload).await?;
            let text = std::str::from_utf8(&bytes).unwrap_or("?").trim();
            let empty_object = text
                .strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .is_some_and(|t| t.trim().is_empty());
            if text.is_empty() || empty_object {
                Ok(NoBody)
            } else {
                Err(InvalidInput::new("this endpoint takes no request body (send none, or {})").into())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strict_json_refuses_a_key_given_twice_at_any_depth() {
        assert!(super::strict_json(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        for bad in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"items":[{"sku":"x","sku":"y"}]}"#,
            br#"{"b":{"c":1,"c":1}}"#,
        ] {
            let err = super::strict_json(bad).unwrap_err().to_string();
            assert!(err.contains("twice"), "{err}");
        }
        assert!(super::strict_json(b"{} x").is_err(), "trailing bytes");
    }

    #[derive(Debug, serde::Deserialize)]
    struct Typed {
        #[serde(default)]
        a: crate::domain::Field,
        #[serde(default)]
        n: Option<u32>,
    }

    fn typed(raw: &str) -> Result<Typed, String> {
        super::typed::<Typed>(raw.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_typed_body_is_checked_as_strictly_as_strict_json_reads() {
        let body = typed(r#"{"a":[{"b":1}],"n":3,"x":{"y":[1,{"z":2}]}}"#).unwrap();
        assert_eq!((body.a.get(), body.n), (Some(&serde_json::json!([{"b": 1}])), Some(3)));
        let many = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect::<Vec<_>>().join(",");
        assert!(typed(&format!("{{{many}}}")).is_ok(), "forty distinct keys");
        for (bad, says) in [
            (r#"{"a":1,"a":2}"#, r#"the key "a" appears twice"#),
            (r#"{"a":1,"\u0061":2}"#, r#"the key "a" appears twice"#),
            (r#"{"x":{"y":[{"z":1,"z":1}]}}"#, r#"the key "z" appears twice"#),
            (&format!(r#"{{{many},"k39":0}}"#), r#"the key "k39" appears twice"#),
            ("[1]", "body must be a JSON object"),
            ("\"a\"", "body must be a JSON object"),
            ("{} x", "body is not valid JSON"),
            ("{", "body is not valid JSON"),
            (
                r#"{"n":"three"}"#,
                "body does not fit: invalid type: string \"three\", expected u32",
            ),
        ] {
            let err = typed(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert!(
            !typed(r#"{"n":-1}"#).unwrap_err().contains(" at line "),
            "a body that does not fit is named by what, not where"
        );
    }
}
