use super::auth::Reader;
use super::extract::AppState;
use actix_web::{HttpResponse, web};

/// `GET /metrics`: Prometheus text format. Label values are bounded (operation, strategy,
/// route pattern, status), never a SKU or user.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    security((), ("api_key" = ["read"]), ("admin_token" = [])),
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String),
        super::api::Unauthorized,
        super::api::Forbidden))]
pub(super) async fn metrics(_: Reader, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.store.render_metrics())
}
