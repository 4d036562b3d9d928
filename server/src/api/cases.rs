//! `/v1/cases…`: the victim's side (open, read, add, withdraw).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use takedown_protocol as p;

use super::auth::CaseAccess;
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

/// `GET /v1/cases/{case_number}`
pub async fn status(State(st): St, case: CaseAccess) -> Result<Response, ApiError> {
    let status = domain::case_status(&st.store, case.case_id).await?;
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
