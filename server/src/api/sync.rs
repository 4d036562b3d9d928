//! `GET /v1/sync`: the platforms' delta sync.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use takedown_protocol as p;

use super::auth::PlatformAccess;
use super::{St, json};
use crate::domain;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Parses `cursor` and `limit` from a query string.
fn sync_query(q: Option<&str>) -> Result<(i64, i64), ApiError> {
    let (mut cursor, mut limit) = (0i64, i64::from(p::DEFAULT_SYNC_LIMIT));
    for pair in q.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = |f: &str, m: String| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", m).field(f.to_string())
        };
        match k {
            "cursor" => {
                cursor = v
                    .parse::<i64>()
                    .ok()
                    .filter(|c| *c >= 0)
                    .ok_or_else(|| bad("cursor", "must be a non-negative integer".into()))?
            }
            "limit" => {
                limit = v
                    .parse::<i64>()
                    .ok()
                    .filter(|l| (1..=i64::from(p::MAX_SYNC_LIMIT)).contains(l))
                    .ok_or_else(|| bad("limit", format!("must be 1 to {}", p::MAX_SYNC_LIMIT)))?
            }
            other => {
                return Err(bad(other, "unknown query parameter".into()));
            }
        }
    }
    Ok((cursor, limit))
}

/// `GET /v1/sync?cursor=N&limit=L`
pub async fn sync(
    State(st): St,
    platform: PlatformAccess,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let (cursor, limit) = sync_query(q.as_deref())?;
    let page = domain::sync_page(&st.store, platform.platform_id, cursor, limit).await?;
    Metrics::add(&st.metrics.sync_entries, page.entries.len() as u64);
    Ok(json(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_query_parses_and_names_bad_fields() {
        assert_eq!(
            sync_query(None).unwrap(),
            (0, i64::from(p::DEFAULT_SYNC_LIMIT))
        );
        assert_eq!(sync_query(Some("cursor=5&limit=7")).unwrap(), (5, 7));
        assert_eq!(
            sync_query(Some("cursor=-1")).unwrap_err().field.as_deref(),
            Some("cursor")
        );
        assert_eq!(
            sync_query(Some("limit=0")).unwrap_err().field.as_deref(),
            Some("limit")
        );
        assert_eq!(
            sync_query(Some("limit=abc")).unwrap_err().field.as_deref(),
            Some("limit")
        );
        assert_eq!(
            sync_query(Some("x=1")).unwrap_err().field.as_deref(),
            Some("x")
        );
    }
}
