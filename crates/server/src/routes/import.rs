//! `POST /v1/skus/import` (admin): catalog rows as NDJSON, applied as they stream in.

use super::auth::Admin;
use super::extract::AppState;
use crate::domain::{CatalogRow, InvalidInput};
use crate::error::Error;
use crate::ops::import::Loader;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

/// Most bytes one import reads: about a million rows. A larger file goes in several calls
/// (or through `stockwatch import`, which has no limit).
pub(super) const IMPORT_LIMIT: usize = 64 * 1024 * 1024;
/// Longest line: a row is well under 1 KiB.
pub(super) const LINE_LIMIT: usize = 16 * 1024;

/// `POST /v1/skus/import` (admin): one row per line (`sku`, `available`, and optionally
/// `location`, `priority`, `low_stock_threshold`, `reorder_point`, `reorder_quantity`), each
/// set as `PUT …/stock` and `PUT …/alerts` would set it, in one transaction per row. Rows
/// are applied as the body streams in, a chunk at a time; a bad row is refused in the
/// answer while the rows around it land.
#[utoipa::path(post, path = "/v1/skus/import", tag = "admin",
    request_body(content = String, content_type = "application/x-ndjson",
        description = "One JSON object per line, at most 64 MiB in all and 16 KiB a line"),
    responses((status = 200, description = "How many rows created, changed or left a SKU unchanged, and every refused \
        row's line, error code and message. A body that passes 64 MiB while streaming is cut there: the line where it \
        was cut is refused with `payload_too_large`, and the rows before it landed.", body = crate::ops::import::Summary),
        super::api::InvalidRequest,
        super::api::Unauthorized,
        super::api::Forbidden,
        (status = 413, description = "`Content-Length` over 64 MiB (`payload_too_large`): nothing was read", body = crate::error::ErrorBody),
        super::api::Unavailable),
    security(("admin_token" = []), ("api_key" = ["admin"]))
)]
#[tracing::instrument(level = "debug", skip_all, fields(rows))]
pub(super) async fn import(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    mut body: web::Payload,
) -> Result<HttpResponse, Error> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > IMPORT_LIMIT) {
        return Err(Error::PayloadTooLarge { limit: IMPORT_LIMIT });
    }
    let (mut lines, mut loader) = (Lines::default(), Loader::new(&state.store));
    let mut read = 0;
    while let Some(bytes) = body.next().await {
        let bytes = bytes.map_err(|e| InvalidInput::new(format!("the body could not be read: {e}")))?;
        read += bytes.len();
        if read > IMPORT_LIMIT {
            loader.refuse(lines.line + 1, &Error::PayloadTooLarge { limit: IMPORT_LIMIT });
            lines = Lines::default();
            break;
        }
        for (line, row) in lines.push(&bytes) {
            loader.push(line, row).await?;
        }
    }
    if let Some((line, row)) = lines.finish() {
        loader.push(line, row).await?;
    }
    let summary = loader.finish().await?;
    note!("rows", summary.rows());
    Ok(HttpResponse::Ok().json(summary))
}

/// Splits a streamed body into lines, numbered from 1; blank lines are skipped.
#[derive(Default)]
struct Lines {
    /// The current line's bytes so far.
    partial: Vec<u8>,
    /// The number of the last line completed.
    line: u64,
    /// The current line passed [`LINE_LIMIT`]: its bytes are dropped until its end.
    overlong: bool,
}

impl Lines {
    /// The rows of the lines `bytes` completes.
    fn push(&mut self, bytes: &[u8]) -> Vec<(u64, Result<CatalogRow, InvalidInput>)> {
        let mut out = Vec::new();
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            let (text, ends) = match piece.split_last() {
                Some((b'\n', text)) => (text, true),
                _ => (piece, false),
            };
            if !self.overlong {
                self.partial.extend_from_slice(text);
                if self.partial.len() > LINE_LIMIT {
                    self.overlong = true;
                    self.partial = Vec::new();
                }
            }
            if ends {
                out.extend(self.end_line());
            }
        }
        out
    }

    /// The last line, when the body does not end with a newline.
    fn finish(&mut self) -> Option<(u64, Result<CatalogRow, InvalidInput>)> {
        (!self.partial.is_empty() || self.overlong)
            .then(|| self.end_line())
            .flatten()
    }

    fn end_line(&mut self) -> Option<(u64, Result<CatalogRow, InvalidInput>)> {
        self.line += 1;
        let text = std::mem::take(&mut self.partial);
        if std::mem::take(&mut self.overlong) {
            let why = format!("a line is at most {LINE_LIMIT} bytes");
            return Some((self.line, Err(InvalidInput::new(why))));
        }
        if text.trim_ascii().is_empty() {
            return None;
        }
        Some((self.line, CatalogRow::from_line(&text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_across_chunks_and_overlong_ones_refused() {
        let mut lines = Lines::default();
        let mut got = lines.push(b"{\"sku\":\"a\",\"avail");
        got.extend(lines.push(b"able\":1}\n\n{\"sku\":\"b\"}\n"));
        got.extend(lines.push(&vec![b'x'; LINE_LIMIT + 5]));
        got.extend(lines.push(b"yy\n{\"sku\":\"c\",\"available\":3}"));
        got.extend(lines.finish());
        let summary: Vec<(u64, bool)> = got.iter().map(|(l, r)| (*l, r.is_ok())).collect();
        assert_eq!(summary, [(1, true), (3, false), (4, false), (5, true)]);
        assert!(got[2].1.as_ref().unwrap_err().0.contains("at most"));
    }
}
