//! The webhook endpoints (admin): register, list, delete, and the dead letters.

use super::api::WebhookRequest;
use super::extract::{Admin, AppState, JsonBody, NoBody, only_query_params, path_param, query_param};
use crate::error::Error;
use crate::webhooks::{self, sender};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

/// `POST /v1/webhooks` (admin): register a webhook.
#[utoipa::path(post, path = "/v1/webhooks", tag = "alerts",
    request_body = super::api::WebhookRequest,
    responses((status = 201, description = "Registered; the secret is not returned", body = crate::webhooks::Webhook),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::TooLarge,
        super::api::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: JsonBody<WebhookRequest>,
) -> Result<HttpResponse, Error> {
    let hook = body.get().parse(&state.webhooks)?;
    Ok(HttpResponse::Created().json(webhooks::create(&state.store, hook).await?))
}

/// `GET /v1/webhooks` (admin): every webhook, without secrets.
#[utoipa::path(get, path = "/v1/webhooks", tag = "alerts",
    responses((status = 200, description = "Registered webhooks", body = crate::webhooks::WebhookList),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(webhooks::list(&state.store).await?))
}

/// `DELETE /v1/webhooks/{id}` (admin).
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted"),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::UnknownWebhook,
        super::api::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(_: Admin, req: HttpRequest, state: web::Data<AppState>, _: NoBody) -> Result<HttpResponse, Error> {
    match webhooks::delete(&state.store, &path_param(&req, "id")).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(Error::UnknownWebhook),
    }
}

/// The `200` body of `GET /v1/webhooks/dead-letters`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadLetters {
    /// Oldest first.
    pub dead_letters: Vec<sender::DeadLetter>,
}

/// `GET /v1/webhooks/dead-letters` (admin): deliveries that ran out of retries.
#[utoipa::path(get, path = "/v1/webhooks/dead-letters", tag = "alerts",
    responses((status = 200, description = "Dead letters, oldest first", body = DeadLetters),
        super::api::Unauthorized,
        super::api::Forbidden,
        super::api::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn dead_letters(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let dead_letters = sender::dead_letters(&state.store).await?;
    Ok(HttpResponse::Ok().json(DeadLetters { dead_letters }))
}

/// The `200` body of `POST /v1/webhooks/dead-letters/replay`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Replayed {
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
    params(("id" = Option<String>, Query, description = "Only this dead letter")),
    responses((status = 200, description = "What went through", body = Replayed),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        (status = 404, description = "`unknown_dead_letter`: no dead letter has that id", body = crate::error::ErrorBody),
        super::api::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn replay(_: Admin, req: HttpRequest, state: web::Data<AppState>, _: NoBody) -> Result<HttpResponse, Error> {
    only_query_params(&req, &["id"])?;
    let only = query_param(&req, "id")?;
    let report = sender::replay(&state.store, &state.webhooks, only.as_deref()).await?;
    let remaining = sender::dead_letters(&state.store).await?.len();
    Ok(HttpResponse::Ok().json(Replayed {
        delivered: report.delivered,
        remaining,
        failed: report.failed,
        untried: report.untried,
    }))
}

/// `DELETE /v1/webhooks/dead-letters/{id}` (admin): give up on one dead letter.
#[utoipa::path(delete, path = "/v1/webhooks/dead-letters/{id}", tag = "alerts",
    params(("id" = String, Path, description = "The dead letter's id, `<alert id>/<webhook id>`")),
    responses((status = 204, description = "Removed"),
        super::api::Unauthorized,
        super::api::Forbidden,
        (status = 404, description = "`unknown_dead_letter`", body = crate::error::ErrorBody),
        super::api::Unavailable),
    security(("admin_token" = []))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_dead_letter(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    _: NoBody,
) -> Result<HttpResponse, Error> {
    match sender::delete_dead_letter(&state.store, &path_param(&req, "id")).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(Error::UnknownDeadLetter),
    }
}
