//! The webhook endpoints (admin): register, list, delete, and the dead letters.

use super::api::WebhookRequest;
use super::auth::Admin;
use super::extract::{AppState, IdempotencyHeader, JsonBody, NoBody, only_query_params, path_param, query_param};
use super::once;
use crate::error::Error;
use crate::webhooks::{self, sender};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Serialize;

/// `POST /v1/webhooks` (admin): register a webhook.
#[utoipa::path(post, path = "/v1/webhooks", tag = "alerts",
    params(super::api::IdempotencyKeyHeader),
    request_body = super::api::WebhookRequest,
    responses((status = 201, description = "Registered; the secret is not returned", body = crate::webhooks::Webhook),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::TooLarge,
        super::api::KeyReused,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: JsonBody<WebhookRequest>,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let hook = body.get().parse(&state.webhooks)?;
    let command = (
        hook.url.to_string(),
        hook.secret.expose_secret().to_owned(),
        hook.events.clone(),
    );
    once::respond(&state, idem, "webhooks", &command, || async {
        Ok(once::json(
            StatusCode::CREATED,
            &webhooks::create(&state.store, hook).await?,
        ))
    })
    .await
}

/// `GET /v1/webhooks` (admin): every webhook, without secrets.
#[utoipa::path(get, path = "/v1/webhooks", tag = "alerts",
    responses((status = 200, description = "Registered webhooks", body = crate::webhooks::WebhookList),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(webhooks::list(&state.store).await?))
}

/// `DELETE /v1/webhooks/{id}` (admin).
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Webhook id"), super::api::IdempotencyKeyHeader),
    responses((status = 204, description = "Deleted"),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::UnknownWebhook,
        super::api::KeyReused,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn delete(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    _: NoBody,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let id = path_param(&req, "id");
    let remove = || webhooks::delete(&state.store, &id);
    once::delete(
        &state,
        idem,
        &format!("webhook_delete:{id}"),
        remove,
        Error::UnknownWebhook,
    )
    .await
}

/// The `200` body of `GET /v1/webhooks/dead-letters`.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct DeadLetters {
    /// Oldest first.
    pub dead_letters: Vec<sender::DeadLetter>,
}

/// `GET /v1/webhooks/dead-letters` (admin): deliveries that ran out of retries.
#[utoipa::path(get, path = "/v1/webhooks/dead-letters", tag = "alerts",
    responses((status = 200, description = "Dead letters, oldest first", body = DeadLetters),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn dead_letters(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let dead_letters = sender::dead_letters(&state.store).await?;
    Ok(HttpResponse::Ok().json(DeadLetters { dead_letters }))
}

/// The `200` body of `POST /v1/webhooks/dead-letters/replay`.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Replayed {
    /// Dead letters delivered this time (and so removed).
    pub delivered: usize,
    /// Dead letters still kept.
    pub remaining: usize,
    /// Dead letters tried this time that failed again.
    pub failed: usize,
    /// Dead letters the replay's deadline left untried (call again).
    pub untried: usize,
}

/// `POST /v1/webhooks/dead-letters/replay?id=` (admin): send dead letters again (all, or
/// the one named), one POST each, within a bounded time; answers what went through.
#[utoipa::path(post, path = "/v1/webhooks/dead-letters/replay", tag = "alerts",
    params(("id" = Option<String>, Query, description = "Only this dead letter"), super::api::IdempotencyKeyHeader),
    responses((status = 200, description = "What went through", body = Replayed),
        super::api::DeadLetterRefusals),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn replay(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    _: NoBody,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    only_query_params(&req, &["id"])?;
    let only = query_param(&req, "id")?;
    once::respond(&state, idem, "dead_letters_replay", &only, || async {
        let report = sender::replay(&state.store, &state.webhooks, only.as_deref()).await?;
        let remaining = sender::dead_letter_count(&state.store).await?;
        let replayed = Replayed {
            delivered: report.delivered,
            remaining,
            failed: report.failed,
            untried: report.untried,
        };
        Ok(once::json(StatusCode::OK, &replayed))
    })
    .await
}

/// `DELETE /v1/webhooks/dead-letters/{id}` (admin): give up on one dead letter.
#[utoipa::path(delete, path = "/v1/webhooks/dead-letters/{id}", tag = "alerts",
    params(("id" = String, Path, description = "The dead letter's id, `<alert id>/<webhook id>`"), super::api::IdempotencyKeyHeader),
    responses((status = 204, description = "Removed"),
        super::api::DeadLetterRefusals),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn delete_dead_letter(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    _: NoBody,
    idem: IdempotencyHeader,
) -> Result<HttpResponse, Error> {
    let id = path_param(&req, "id");
    let remove = || sender::delete_dead_letter(&state.store, &id);
    once::delete(
        &state,
        idem,
        &format!("dead_letter_delete:{id}"),
        remove,
        Error::UnknownDeadLetter,
    )
    .await
}
