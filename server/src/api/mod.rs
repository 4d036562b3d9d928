//! The HTTP layer of the `/v1` API, one module per resource.
//!
//! Handlers only adapt HTTP: extract (auth is an extractor, see [`auth`]),
//! parse, call one [`crate::domain`] function, answer.

pub mod auth;
pub mod cases;
pub mod exports;
pub mod feedback;
pub mod ops;
pub mod sync;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

pub(crate) type St = State<Arc<AppState>>;

/// The OpenAPI document (hand-written; a test checks it lists every route).
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// A JSON answer.
pub(crate) fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
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

/// 201 for a new resource, 200 for the replay of an earlier request.
pub(crate) fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// The request body, or the error answer for an unreadable or oversized one.
pub(crate) fn body_bytes(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
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
