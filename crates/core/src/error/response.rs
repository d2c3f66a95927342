//! How an [`Error`] goes out over HTTP: its status, the headers its code calls for, and the
//! contract's JSON body. Server errors are logged here, once.

use super::{Error, SaleWindow};
use actix_web::{HttpResponse, ResponseError, http::StatusCode};

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.status().is_server_error() {
            tracing::warn!(error = %self, code = self.code(), "request failed");
        }
        let mut response = HttpResponse::build(self.status());
        match self {
            Self::Contention { .. } => {
                response.insert_header(("Retry-After", "1"));
            }
            Self::NotOnSale {
                window: SaleWindow::NotOpen(_),
                retry_after_s,
                ..
            } => {
                response.insert_header(("Retry-After", retry_after_s.to_string()));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header(("Allow", *allow));
            }
            // RFC 6750 §3: a 401 names the scheme the client should use.
            Self::Unauthorized | Self::InvalidKey => {
                response.insert_header(("WWW-Authenticate", "Bearer realm=\"stockwatch\""));
            }
            _ => {}
        }
        response.json(self.error_body())
    }
}
