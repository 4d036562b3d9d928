//! The one JSON error shape every failure answers with.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use takedown_protocol::{ErrorBody, ErrorDetail, FieldError};

use crate::store::StoreError;

/// An error answer: status, stable code, optional field, message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// The field to blame, when one is.
    pub field: Option<String>,
    /// Human-readable text (never contains secrets or fingerprints).
    pub message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            field: None,
            message: message.into(),
        }
    }

    /// Blames a field.
    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }

    /// The answer for an unknown case or a wrong token (identical on purpose).
    pub fn case_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no case with this number and token",
        )
    }

    /// Missing or wrong platform API key.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API key is required (Authorization: Bearer <key>)",
        )
        .field("Authorization")
    }

    /// Too many requests.
    pub fn rate_limited(what: &str) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", what)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        let code = if e.field.is_none() {
            "malformed_body"
        } else {
            "invalid_field"
        };
        ApiError {
            status: if e.field.is_none() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            code,
            field: e.field,
            message: e.message,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "not found"),
            StoreError::IdempotencyConflict => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "this idempotency key was used with a different request",
            )
            .field("idempotency_key"),
            StoreError::CaseWithdrawn => ApiError::new(
                StatusCode::CONFLICT,
                "case_withdrawn",
                "the case was withdrawn; open a new case",
            ),
            StoreError::TooManyItems => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!(
                    "a case holds at most {} items",
                    takedown_protocol::MAX_ITEMS_PER_CASE
                ),
            )
            .field("items"),
            StoreError::UnknownItem(i) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "no item with this id",
            )
            .field(format!("events[{i}].item_id")),
            StoreError::NameTaken => {
                ApiError::new(StatusCode::CONFLICT, "name_taken", "name taken")
            }
            StoreError::Database {
                backend,
                class,
                ref code,
            } => {
                tracing::error!(backend, class = class.as_str(), code = %code, "database failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the service could not complete the request; retry later",
                )
            }
            StoreError::CaseNumberTaken | StoreError::Internal(_) => {
                tracing::error!(error = %e, "storage failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the service could not complete the request; retry later",
                )
            }
        }
    }
}

impl ApiError {
    fn body(self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                field: self.field,
                message: self.message,
            },
        }
    }

    /// The JSON body of this error, serialised.
    pub fn body_bytes(self) -> Vec<u8> {
        serde_json::to_vec(&self.body()).unwrap_or_else(|_| b"{}".to_vec())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        (status, Json(self.body())).into_response()
    }
}
