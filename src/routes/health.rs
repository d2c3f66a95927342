use super::AppState;
use crate::error::Error;
use actix_web::{HttpResponse, web};

/// Liveness: the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: Redis answers PING within the response timeout.
#[tracing::instrument(skip_all)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}
