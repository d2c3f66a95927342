//! Admin writes under an `Idempotency-Key` ([`crate::ops::once`]): ERPs and scanners retry
//! them more than shoppers retry purchases. A handler builds its answer as an [`Answer`];
//! this turns it into the response, the first time and on every repeat alike.

use super::extract::{AppState, IdempotencyHeader};
use crate::error::Error;
use crate::ops::{self, Answer};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

/// Runs `write` once per key for the endpoint `scope`, fingerprinting `command` (what the
/// handler understood), and answers with what the first call answered.
pub(super) async fn respond<C, F, Fut>(
    state: &web::Data<AppState>,
    idem: IdempotencyHeader,
    scope: &str,
    command: &C,
    write: F,
) -> Result<HttpResponse, Error>
where
    C: serde::Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Answer, Error>>,
{
    let idem = idem.for_command(&[scope], command);
    let answer = ops::once(&state.store, scope, idem.as_ref(), write).await?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    Ok(match answer.body.is_empty() {
        true => HttpResponse::build(status).finish(),
        false => super::reply::json_body(status, answer.body),
    })
}

/// A keyed delete of one thing: `204` when `remove` found it, `missing` when it did not.
pub(super) async fn delete<F, Fut>(
    state: &web::Data<AppState>,
    idem: IdempotencyHeader,
    scope: &str,
    remove: F,
    missing: Error,
) -> Result<HttpResponse, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<bool, Error>>,
{
    respond(state, idem, scope, &(), || async move {
        match remove().await? {
            true => Ok(no_content()),
            false => Err(missing),
        }
    })
    .await
}

/// A JSON answer.
pub(super) fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Answer {
    Answer {
        status: status.as_u16(),
        body: serde_json::to_vec(value).expect("answers serialize"),
    }
}

/// A `204 No Content` answer.
pub(super) fn no_content() -> Answer {
    Answer {
        status: StatusCode::NO_CONTENT.as_u16(),
        body: Vec::new(),
    }
}
