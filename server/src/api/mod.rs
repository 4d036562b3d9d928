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
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
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

/// Whether the request says its body is JSON (`application/json`, any
/// parameters, any case).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// When the request body must have arrived (set by the request middleware
/// from [`crate::Limits::body_read_timeout`]).
#[derive(Clone, Copy, Debug)]
pub struct BodyDeadline(pub tokio::time::Instant);

/// A request body declared as `application/json` (415 otherwise), read
/// within the body limit (413) and before the [`BodyDeadline`] (408).
/// Parsing is the handler's, by `p::decode`.
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json)",
            )
            .field("Content-Type"));
        }
        let deadline = req.extensions().get::<BodyDeadline>().copied();
        let body = match deadline {
            Some(BodyDeadline(at)) => {
                match tokio::time::timeout_at(at, Bytes::from_request(req, state)).await {
                    Ok(b) => b,
                    Err(_) => {
                        return Err(ApiError::new(
                            StatusCode::REQUEST_TIMEOUT,
                            "body_timeout",
                            "the request body did not arrive in time",
                        ));
                    }
                }
            }
            None => Bytes::from_request(req, state).await,
        };
        body_bytes(body).map(JsonBody)
    }
}

/// The JSON error answer for an error response that has none (an answer made
/// by a layer below the handlers): every error the service gives is JSON.
pub(crate) fn json_error_for(status: StatusCode) -> ApiError {
    let code = match status {
        StatusCode::BAD_REQUEST => "malformed_request",
        StatusCode::NOT_FOUND => "no_route",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        s if s.is_server_error() => "unavailable",
        _ => "error",
    };
    ApiError::new(
        status,
        code,
        status.canonical_reason().unwrap_or("error").to_lowercase(),
    )
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
