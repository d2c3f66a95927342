use super::extract::AppState;
use crate::error::Error;
use actix_web::{HttpResponse, web};

/// Liveness: the process runs.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "The process runs", body = Object, example = json!({"status": "ok"}))))]
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: Redis answers PING within the response timeout (and, on a cluster, reports
/// `cluster_state:ok`).
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Redis answers", body = Object, example = json!({"status": "ready"})),
        (status = 503, description = "Redis does not answer in time, or the cluster is not ok (`redis_unavailable`)", body = crate::error::ErrorBody)))]
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}
