//! Operations endpoints: `/healthz`, `/metrics`, `/v1/openapi.json`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{OPENAPI, St, json};

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
