//! The Takedown hash-list service.
//!
//! Victims (through the phone app) open anonymous cases of fingerprints and
//! follow their status; platforms sync the list by cursor, report feedback and
//! export the list for existing tools. Storage is a SQLite file by default or
//! PostgreSQL (see [`store`]). Routes are under `/v1/`; the OpenAPI document
//! is served at `/v1/openapi.json`.

#![warn(missing_docs)]

pub mod api;
pub mod domain;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod secrets;
pub mod store;
pub mod transport;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::limits::{AuthThrottle, RateLimiter};
use crate::metrics::Metrics;
use crate::store::Store;

/// Largest request body accepted (4 MiB: a full case of videos fits).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Runtime limits of the HTTP service.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Sustained requests per second per client IP (0 disables).
    pub rate_per_second: u32,
    /// Burst size per client IP.
    pub rate_burst: u32,
    /// Failed token/key checks per client IP before it is throttled.
    pub max_auth_failures: u32,
    /// Window for `max_auth_failures`.
    pub auth_failure_window: Duration,
    /// Longest time to receive a request head, from its first byte (or from
    /// the accept, for the first request of a connection).
    pub header_read_timeout: Duration,
    /// Longest time to receive a request body, from the end of its head.
    pub body_read_timeout: Duration,
    /// Longest wait for the next request on a kept-alive connection.
    pub idle_timeout: Duration,
    /// Connections served at once (a few more answer only `/healthz`).
    pub max_connections: usize,
    /// After a shutdown request, how long open connections may take to finish.
    pub shutdown_grace: Duration,
    /// Whether `/metrics` is served on the main listener.
    pub expose_metrics: bool,
}

/// Longest request URI in bytes (414 above it).
pub const MAX_URI_BYTES: usize = 8 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate_per_second: 50,
            rate_burst: 100,
            max_auth_failures: 10,
            auth_failure_window: Duration::from_secs(15 * 60),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
            expose_metrics: false,
        }
    }
}

/// Shared state of the handlers.
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Metrics.
    pub metrics: Metrics,
    /// Per-IP rate limiter.
    pub rate: RateLimiter,
    /// Per-IP bad-credential throttle.
    pub throttle: AuthThrottle,
    /// Limits in force.
    pub limits: Limits,
}

/// Builds the router for a store and limits.
pub fn router(store: Store, limits: Limits) -> Router {
    let state = Arc::new(AppState {
        store,
        metrics: Metrics::default(),
        rate: RateLimiter::new(limits.rate_per_second, limits.rate_burst),
        throttle: AuthThrottle::new(limits.max_auth_failures, limits.auth_failure_window),
        limits: limits.clone(),
    });
    let mut r = Router::new();
    if limits.expose_metrics {
        r = r.route("/metrics", get(api::ops::metrics));
    }
    r.route("/v1/cases", post(api::cases::create))
        .route("/v1/cases/{case_number}", get(api::cases::status))
        .route("/v1/cases/{case_number}/items", post(api::cases::add_items))
        .route(
            "/v1/cases/{case_number}/items/{item_id}/withdraw",
            post(api::cases::withdraw_item),
        )
        .route("/v1/cases/{case_number}/restore", post(api::cases::restore))
        .route(
            "/v1/cases/{case_number}/withdraw",
            post(api::cases::withdraw_case),
        )
        .route("/v1/sync", get(api::sync::sync))
        .route("/v1/feedback", post(api::feedback::feedback))
        .route("/v1/export/csv", get(api::exports::csv))
        .route(
            "/v1/export/threatexchange",
            get(api::exports::threatexchange),
        )
        .route("/v1/openapi.json", get(api::ops::openapi))
        .route("/healthz", get(api::ops::healthz))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(state)
}

/// Rate limiting, metrics and the request log line. Logs carry only the
/// route template (never the case number), method, status and latency.
async fn observe(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method: &'static str = match *req.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::HEAD => "HEAD",
        _ => "OTHER",
    };
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let exempt = route == "/healthz" || route == "/metrics";
    let mut req = req;
    req.extensions_mut().insert(api::BodyDeadline(
        tokio::time::Instant::now() + st.limits.body_read_timeout,
    ));
    let resp = match ip {
        _ if req.uri().path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI_BYTES => {
            ApiError::new(
                axum::http::StatusCode::URI_TOO_LONG,
                "uri_too_long",
                "the request URI is too long",
            )
            .into_response()
        }
        Some(ip) if !exempt && !st.rate.allow(ip) => {
            Metrics::add(&st.metrics.rate_limited, 1);
            ApiError::rate_limited("too many requests; slow down").into_response()
        }
        _ => next.run(req).await,
    };
    let resp = json_errors(resp);
    let took = start.elapsed();
    let status = resp.status().as_u16();
    st.metrics.observe(&route, method, status, took);
    tracing::info!(
        target: "takedown_server::http",
        method,
        route = %route,
        status,
        latency_ms = took.as_secs_f64() * 1e3,
        "request"
    );
    resp
}

/// Every error answer is JSON: one made without a JSON body below the
/// handlers (by a layer or an extractor) gets the standard error body.
fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || api::is_json(resp.headers()) {
        return resp;
    }
    api::json_error_for(status).into_response()
}

/// Serves until `shutdown` resolves, then stops accepting connections,
/// finishes in-flight requests (for at most [`Limits::shutdown_grace`]) and
/// closes the store. See [`transport`] for the per-connection limits.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(store.clone(), limits.clone());
    let r = transport::run(listener, app, &limits, shutdown).await;
    store.close().await;
    r
}

/// Current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub use domain::admin;
