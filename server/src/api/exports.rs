//! `/v1/export/…`: the active list in formats existing tools read.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use takedown_protocol as p;

use super::St;
use super::auth::PlatformAccess;
use crate::AppState;
use crate::error::ApiError;
use crate::store::ExportRow;

/// Rows per storage page when streaming an export.
const EXPORT_PAGE: i64 = 10_000;

/// Streams the active list, one page of storage at a time.
fn export_stream(
    st: Arc<AppState>,
    header_line: Option<&'static str>,
    line: fn(&ExportRow, &mut String),
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if let Some(h) = header_line
            && tx.send(Ok(Bytes::from_static(h.as_bytes()))).await.is_err()
        {
            return;
        }
        let mut after = 0i64;
        loop {
            let rows = match st.store.export_page(after, EXPORT_PAGE).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "export failed");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            };
            let Some(last) = rows.last() else { return };
            after = last.item_id;
            let mut s = String::with_capacity(rows.len() * 180);
            for r in &rows {
                line(r, &mut s);
            }
            if tx.send(Ok(Bytes::from(s))).await.is_err() || (rows.len() as i64) < EXPORT_PAGE {
                return;
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// `GET /v1/export/csv`: `item_id,kind,md5,sha256,pdq,quality` per active item.
pub async fn csv(State(st): St, _platform: PlatformAccess) -> Result<Response, ApiError> {
    let body = export_stream(st, Some("item_id,kind,md5,sha256,pdq,quality\n"), |r, s| {
        use std::fmt::Write;
        let _ = write!(
            s,
            "{},{},{},{},",
            r.item_id,
            r.kind.as_str(),
            hex::encode(&r.md5),
            hex::encode(&r.sha256)
        );
        if let Some(pdq) = &r.pdq {
            s.push_str(&hex::encode(pdq));
        }
        s.push(',');
        if let Some(q) = r.quality {
            let _ = write!(s, "{q}");
        }
        s.push('\n');
    });
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}

/// `GET /v1/export/threatexchange`: python-threatexchange `local_file` lines:
/// `pdq <hex>` for pictures whose PDQ quality is at least
/// [`p::PDQ_MIN_QUALITY`], `video_md5 <hex>` for videos.
pub async fn threatexchange(
    State(st): St,
    _platform: PlatformAccess,
) -> Result<Response, ApiError> {
    let body = export_stream(st, None, |r, s| match r.kind {
        p::ItemKind::Image => {
            if let (Some(pdq), Some(q)) = (&r.pdq, r.quality)
                && q >= i64::from(p::PDQ_MIN_QUALITY)
            {
                s.push_str("pdq ");
                s.push_str(&hex::encode(pdq));
                s.push('\n');
            }
        }
        p::ItemKind::Video => {
            s.push_str("video_md5 ");
            s.push_str(&hex::encode(&r.md5));
            s.push('\n');
        }
    });
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}
