//! `/v1/cases…`: the victim's side (open, read, add, withdraw).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use takedown_protocol as p;

use super::auth::{CaseAccess, ClientIp, wrong_guess};
use super::{JsonBody, St, created_or_ok, json};
use crate::domain;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::store::{StoreError, WithdrawTarget};

/// `POST /v1/cases`
pub async fn create(State(st): St, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let req: p::CreateCaseRequest = p::decode(&body)?;
    let resp = domain::create_case(&st.store, &req, crate::now()).await?;
    if resp.created {
        Metrics::add(&st.metrics.cases_created, 1);
        Metrics::add(&st.metrics.items_added, resp.item_ids.len() as u64);
    }
    Ok(json(created_or_ok(resp.created), &resp))
}

/// Parses `items_after` and `items_limit` (other parameters are ignored, as
/// they always were).
fn items_page(q: Option<&str>) -> Result<domain::ItemsPage, ApiError> {
    let mut page = domain::ItemsPage::default();
    for pair in q.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = |f: &str, m: String| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", m).field(f.to_string())
        };
        match k {
            "items_after" => {
                page.after = v
                    .parse::<i64>()
                    .ok()
                    .filter(|a| *a >= 0)
                    .ok_or_else(|| bad(k, "must be a non-negative integer".into()))?
            }
            "items_limit" => {
                page.limit = Some(
                    v.parse::<u32>()
                        .ok()
                        .filter(|l| (1..=p::STATUS_ITEMS_MAX).contains(l))
                        .ok_or_else(|| bad(k, format!("must be 1 to {}", p::STATUS_ITEMS_MAX)))?,
                )
            }
            _ => {}
        }
    }
    Ok(page)
}

/// `GET /v1/cases/{case_number}[?items_after=ID&items_limit=N]`
pub async fn status(
    State(st): St,
    case: CaseAccess,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let page = items_page(q.as_deref())?;
    let status = domain::case_status(&st.store, case.case_id, page).await?;
    Ok(json(StatusCode::OK, &status))
}

/// `POST /v1/cases/{case_number}/items`
pub async fn add_items(
    State(st): St,
    case: CaseAccess,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let req: p::AddItemsRequest = p::decode(&body)?;
    let resp = domain::add_items(&st.store, case.case_id, &req, crate::now()).await?;
    if resp.created {
        Metrics::add(&st.metrics.items_added, resp.item_ids.len() as u64);
    }
    Ok(json(created_or_ok(resp.created), &resp))
}

/// `POST /v1/cases/{case_number}/items/{item_id}/withdraw`
pub async fn withdraw_item(
    State(st): St,
    case: CaseAccess,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (_, item) = path
        .map(|Path(x)| x)
        .map_err(|_| ApiError::case_not_found())?;
    let item_id: i64 = item.parse().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "must be an item id",
        )
        .field("item_id")
    })?;
    let target = WithdrawTarget::Item(item_id);
    let resp = domain::withdraw(&st.store, case.case_id, target, crate::now())
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
    Metrics::add(
        &st.metrics.items_withdrawn,
        resp.withdrawn_item_ids.len() as u64,
    );
    Ok(json(StatusCode::OK, &resp))
}

/// `POST /v1/cases/{case_number}/restore`: a recovery key for a fresh token
/// (ADR 0112). An unknown case, a case without a recovery key and a wrong key
/// get the same 404, and count as failed guesses for the throttle.
pub async fn restore(
    State(st): St,
    ClientIp(ip): ClientIp,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let Path(number) = path.map_err(|_| ApiError::case_not_found())?;
    let req: p::RestoreCaseRequest = p::decode(&body)?;
    match domain::restore_case(&st.store, &number, &req).await? {
        Some(resp) => {
            Metrics::add(&st.metrics.cases_restored, 1);
            Ok(json(StatusCode::OK, &resp))
        }
        None => {
            let target = crate::secrets::normalize_case_number(&number);
            Err(wrong_guess(
                &st,
                ip,
                target.as_deref(),
                ApiError::case_not_found(),
            ))
        }
    }
}

/// `POST /v1/cases/{case_number}/withdraw`
pub async fn withdraw_case(State(st): St, case: CaseAccess) -> Result<Response, ApiError> {
    let target = WithdrawTarget::Case;
    let resp = domain::withdraw(&st.store, case.case_id, target, crate::now()).await?;
    Metrics::add(
        &st.metrics.items_withdrawn,
        resp.withdrawn_item_ids.len() as u64,
    );
    Ok(json(StatusCode::OK, &resp))
}
