//! `POST /v1/feedback`: what platforms report about items.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use takedown_protocol as p;

use super::auth::PlatformAccess;
use super::{JsonBody, St, json};
use crate::domain;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// `POST /v1/feedback`
pub async fn feedback(
    State(st): St,
    platform: PlatformAccess,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let req: p::FeedbackRequest = p::decode(&body)?;
    let resp = domain::feedback(&st.store, platform.platform_id, req.events, crate::now()).await?;
    Metrics::add(&st.metrics.feedback_events, u64::from(resp.accepted));
    Ok(json(StatusCode::OK, &resp))
}
