//! HTTP handlers of the `/v1` API.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use takedown_protocol as p;

use crate::AppState;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::secrets;
use crate::store::{CreateOutcome, KIND_IMAGE, NewCase, NewItem, StoreError};

type St = State<Arc<AppState>>;
type Peer = ConnectInfo<SocketAddr>;

/// The OpenAPI document (hand-written; a test checks it lists every route).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Rows per storage page when streaming an export.
const EXPORT_PAGE: i64 = 10_000;

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(b) => (status, [(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "encoding failed",
        )
        .into_response(),
    }
}

fn body_bytes(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "body_too_large",
                "request body is over the size limit",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                "could not read the request body",
            )
        }
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let v = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(v.trim())
}

/// Checks the case token; unknown case and wrong token fail identically.
async fn auth_case(
    st: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
    number: &str,
) -> Result<i64, ApiError> {
    if st.throttle.blocked(ip) {
        Metrics::add(&st.metrics.rate_limited, 1);
        return Err(ApiError::rate_limited(
            "too many failed attempts; wait and retry",
        ));
    }
    let Some(token) = bearer(headers) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the case token is required (Authorization: Bearer <token>)",
        )
        .field("Authorization"));
    };
    let presented = secrets::hash_token(token);
    let found = match secrets::normalize_case_number(number) {
        Some(n) => st.store.case_auth(&n).await?,
        None => None,
    };
    // Compare against a dummy when the case is unknown so both paths do the same work.
    let expected = found.as_ref().map_or([0u8; 32], |c| c.token_hash);
    let ok = secrets::hashes_equal(&presented, &expected);
    match found {
        Some(c) if ok => Ok(c.case_id),
        _ => {
            st.throttle.fail(ip);
            Metrics::add(&st.metrics.auth_failures, 1);
            Err(ApiError::case_not_found())
        }
    }
}

/// Checks a platform API key.
async fn auth_platform(st: &AppState, ip: IpAddr, headers: &HeaderMap) -> Result<i64, ApiError> {
    if st.throttle.blocked(ip) {
        Metrics::add(&st.metrics.rate_limited, 1);
        return Err(ApiError::rate_limited(
            "too many failed attempts; wait and retry",
        ));
    }
    let Some(key) = bearer(headers) else {
        return Err(ApiError::unauthorized());
    };
    match st.store.platform_by_key(secrets::hash_api_key(key)).await? {
        Some(id) => Ok(id),
        None => {
            st.throttle.fail(ip);
            Metrics::add(&st.metrics.auth_failures, 1);
            Err(ApiError::unauthorized())
        }
    }
}

fn case_path(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(s)| s).map_err(|_| ApiError::case_not_found())
}

/// `POST /v1/cases`
pub async fn create_case(
    State(st): St,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body)?;
    let req: p::CreateCaseRequest = p::decode(&body)?;
    let canonical = serde_json::to_vec(&(&req.attestations, &req.items)).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "encoding failed",
        )
    })?;
    let request_hash = secrets::request_hash(&canonical);
    let idem_hash = secrets::hash_idempotency_key(&req.idempotency_key);
    let items: Vec<NewItem> = req.items.iter().map(NewItem::from_input).collect();
    let raw = secrets::random_secret();
    let token = secrets::token_string(&raw);
    for _ in 0..8 {
        let number = secrets::new_case_number();
        let outcome = st
            .store
            .create_case(NewCase {
                number: number.clone(),
                token_hash: secrets::hash_token(&token),
                idem_hash,
                request_hash,
                token_wrap: secrets::wrap_token(&raw, &req.idempotency_key),
                submitter: req.attestations.submitter.as_str(),
                items: items.clone(),
                now: crate::now(),
            })
            .await;
        match outcome {
            Ok(CreateOutcome::Created { item_ids }) => {
                Metrics::add(&st.metrics.cases_created, 1);
                Metrics::add(&st.metrics.items_added, item_ids.len() as u64);
                return Ok(json(
                    StatusCode::CREATED,
                    &p::CreateCaseResponse {
                        case_number: number,
                        case_token: token,
                        created: true,
                        item_ids,
                    },
                ));
            }
            Ok(CreateOutcome::Existing {
                number,
                token_wrap,
                item_ids,
            }) => {
                let raw = secrets::wrap_token(&token_wrap, &req.idempotency_key);
                return Ok(json(
                    StatusCode::OK,
                    &p::CreateCaseResponse {
                        case_number: number,
                        case_token: secrets::token_string(&raw),
                        created: false,
                        item_ids,
                    },
                ));
            }
            Err(StoreError::CaseNumberTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Internal("could not draw a free case number".into()).into())
}

/// `GET /v1/cases/{case_number}`
pub async fn case_status(
    State(st): St,
    ConnectInfo(peer): Peer,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let number = case_path(path)?;
    let case_id = auth_case(&st, peer.ip(), &headers, &number).await?;
    let status = st.store.case_status(case_id).await?;
    Ok(json(StatusCode::OK, &status))
}

/// `POST /v1/cases/{case_number}/items`
pub async fn add_items(
    State(st): St,
    ConnectInfo(peer): Peer,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let number = case_path(path)?;
    let body = body_bytes(body)?;
    let case_id = auth_case(&st, peer.ip(), &headers, &number).await?;
    let req: p::AddItemsRequest = p::decode(&body)?;
    let canonical = serde_json::to_vec(&req.items).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "encoding failed",
        )
    })?;
    let items = req.items.iter().map(NewItem::from_input).collect();
    let (created, item_ids) = st
        .store
        .add_items(
            case_id,
            secrets::hash_idempotency_key(&req.idempotency_key),
            secrets::request_hash(&canonical),
            items,
            crate::now(),
        )
        .await?;
    if created {
        Metrics::add(&st.metrics.items_added, item_ids.len() as u64);
    }
    Ok(json(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &p::AddItemsResponse { created, item_ids },
    ))
}

/// `POST /v1/cases/{case_number}/items/{item_id}/withdraw`
pub async fn withdraw_item(
    State(st): St,
    ConnectInfo(peer): Peer,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (number, item) = path
        .map(|Path(x)| x)
        .map_err(|_| ApiError::case_not_found())?;
    let case_id = auth_case(&st, peer.ip(), &headers, &number).await?;
    let item_id: i64 = item.parse().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "must be an item id",
        )
        .field("item_id")
    })?;
    let ids = st
        .store
        .withdraw(case_id, Some(item_id), crate::now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no item with this id in this case",
            )
            .field("item_id"),
            e => e.into(),
        })?;
    Metrics::add(&st.metrics.items_withdrawn, ids.len() as u64);
    Ok(json(
        StatusCode::OK,
        &p::WithdrawResponse {
            withdrawn_item_ids: ids,
        },
    ))
}

/// `POST /v1/cases/{case_number}/withdraw`
pub async fn withdraw_case(
    State(st): St,
    ConnectInfo(peer): Peer,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let number = case_path(path)?;
    let case_id = auth_case(&st, peer.ip(), &headers, &number).await?;
    let ids = st.store.withdraw(case_id, None, crate::now()).await?;
    Metrics::add(&st.metrics.items_withdrawn, ids.len() as u64);
    Ok(json(
        StatusCode::OK,
        &p::WithdrawResponse {
            withdrawn_item_ids: ids,
        },
    ))
}

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
    ConnectInfo(peer): Peer,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let platform = auth_platform(&st, peer.ip(), &headers).await?;
    let (cursor, limit) = sync_query(q.as_deref())?;
    if cursor > 0 {
        st.store.record_sync(platform, cursor).await?;
    }
    let mut rows = st.store.changes(cursor, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = rows.last().map_or(cursor, |r| r.seq);
    let entries = rows
        .into_iter()
        .map(|r| r.into_entry())
        .collect::<Result<Vec<_>, _>>()?;
    Metrics::add(&st.metrics.sync_entries, entries.len() as u64);
    Ok(json(
        StatusCode::OK,
        &p::SyncPage {
            entries,
            next_cursor,
            has_more,
        },
    ))
}

/// `POST /v1/feedback`
pub async fn feedback(
    State(st): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body)?;
    let platform = auth_platform(&st, peer.ip(), &headers).await?;
    let req: p::FeedbackRequest = p::decode(&body)?;
    let (accepted, duplicates) = st
        .store
        .feedback(platform, req.events, crate::now())
        .await?;
    Metrics::add(&st.metrics.feedback_events, u64::from(accepted));
    Ok(json(
        StatusCode::OK,
        &p::FeedbackResponse {
            accepted,
            duplicates,
        },
    ))
}

/// Streams the active list, one page of storage at a time.
fn export_stream(
    st: Arc<AppState>,
    header_line: Option<&'static str>,
    line: fn(&crate::store::ExportRow, &mut String),
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
pub async fn export_csv(
    State(st): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth_platform(&st, peer.ip(), &headers).await?;
    let body = export_stream(st, Some("item_id,kind,md5,sha256,pdq,quality\n"), |r, s| {
        use std::fmt::Write;
        let kind = if r.kind == KIND_IMAGE {
            "image"
        } else {
            "video"
        };
        let _ = write!(
            s,
            "{},{kind},{},{},",
            r.item_id,
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
/// `pdq <hex>` for pictures whose PDQ quality is at least 50, `video_md5 <hex>`
/// for videos.
pub async fn export_threatexchange(
    State(st): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth_platform(&st, peer.ip(), &headers).await?;
    let body = export_stream(st, None, |r, s| {
        if r.kind == KIND_IMAGE {
            if let (Some(pdq), Some(q)) = (&r.pdq, r.quality)
                && q >= 50
            {
                s.push_str("pdq ");
                s.push_str(&hex::encode(pdq));
                s.push('\n');
            }
        } else {
            s.push_str("video_md5 ");
            s.push_str(&hex::encode(&r.md5));
            s.push('\n');
        }
    });
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

/// `GET /v1/openapi.json`
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /healthz`
pub async fn healthz(State(st): St) -> Response {
    match st.store.ping().await {
        Ok(()) => json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok", "backend": st.store.backend()}),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({"status": "unavailable", "backend": st.store.backend()}),
            )
        }
    }
}

/// `GET /metrics` (Prometheus text format)
pub async fn metrics(State(st): St) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(st.store.backend()),
    )
        .into_response()
}

/// Any unknown route.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such route")
}

/// A known route with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed for this route",
    )
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
