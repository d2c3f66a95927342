use super::extract::AppState;
use actix_web::{HttpResponse, web};

/// The page, compiled into the binary: no file to deploy, nothing fetched from elsewhere.
const PAGE: &str = include_str!("../../../../static/dashboard.html");

/// `GET /`: the live dashboard. It reads `GET /v1/events` and drives `POST /v1/demo/rush`.
/// What the server allows (the broken strategy, whether a token is needed) is written into
/// the page so the form only offers what will work.
pub(super) async fn dashboard(state: web::Data<AppState>) -> HttpResponse {
    let settings = serde_json::json!({
        "allowBroken": state.allow_broken,
        "needsToken": state.access.admin_token.is_some() || state.access.require_keys,
        "needsKey": state.access.require_keys,
        "batching": state.store.config().batching,
    });
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:"))
        .body(PAGE.replace("/*SETTINGS*/{}", &settings.to_string()))
}
