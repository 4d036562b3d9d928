//! The HTTP client for the hash-list service: reqwest on rustls (ring provider,
//! Mozilla roots; no OpenSSL), timeouts, a user agent without device details, the
//! wire types of `takedown-protocol`, and classified retries.
//!
//! Classification: connection failures, timeouts, 5xx, 408, 425 and 429 are
//! *transient* (retried with exponential backoff and full jitter), and so is any
//! 4xx whose body is not the service's JSON error (a CDN's or a WAF's page: the
//! service never answered). Every other 4xx is a *rejection* and is never retried.
//! Idempotency keys make every retry safe.
//!
//! Answers are read with the tolerant types of [`crate::wire`]: a newer service
//! may add fields and enum values.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use takedown_protocol as p;

use super::error::{Error, Result};
use super::wire;

/// User agent: the product and version only (no device, OS or locale).
pub const USER_AGENT: &str = concat!("takedown-core/", env!("CARGO_PKG_VERSION"));

/// How requests are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per operation within one flush (≥ 1).
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Largest delay between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Delay after failed attempt `n` (1-based): `base · 2^(n-1)` capped at
    /// `max_delay`, with full jitter in `[d/2, d]`.
    pub fn delay(&self, n: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (n.saturating_sub(1)).min(20));
        let d = exp.min(self.max_delay);
        let half = d / 2;
        let jitter = half.mul_f64(rand::random::<f64>());
        half + jitter
    }
}

/// Why a request failed, classified for retries.
#[derive(Debug, Clone)]
pub enum SendError {
    /// Worth retrying later: `class` is `offline`, `timeout`, `http_5xx`,
    /// `rate_limited` or `bad_response` (never personal data).
    Transient(String),
    /// The service refused; retrying cannot help.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Transient(class) => Error::Offline(class),
            SendError::Rejected {
                status,
                code,
                message,
            } => Error::Rejected {
                status,
                code,
                message,
            },
        }
    }
}

/// The service client.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
}

fn classify(e: &reqwest::Error) -> SendError {
    let class = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "offline"
    } else if e.is_decode() || e.is_body() {
        "bad_response"
    } else {
        "offline"
    };
    SendError::Transient(class.into())
}

/// Classifies a non-success answer. Only the service's own JSON error body can
/// reject an operation for good; 408, 425, 429, 5xx and 4xx pages from something
/// in between (CDN, WAF, captive portal) are worth retrying.
pub fn classify_status(code: u16, body: &[u8]) -> SendError {
    if (500..600).contains(&code) {
        return SendError::Transient(format!("http_{code}"));
    }
    match code {
        429 => return SendError::Transient("rate_limited".into()),
        408 | 425 => return SendError::Transient(format!("http_{code}")),
        _ => {}
    }
    match serde_json::from_slice::<wire::ErrorBody>(body) {
        Ok(b) => SendError::Rejected {
            status: code,
            code: b.error.code,
            message: b.error.message,
        },
        // Not the service's answer: a proxy or CDN refused or lost it.
        Err(_) => SendError::Transient(format!("http_{code}_foreign")),
    }
}

fn check_case_number(n: &str) -> Result<(), SendError> {
    if n.is_empty() || n.len() > 64 || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(SendError::Rejected {
            status: 0,
            code: "bad_case_number".into(),
            message: "the stored case number is malformed".into(),
        });
    }
    Ok(())
}

impl Client {
    /// A client for `service_url` (`https://…`; plain `http://` only to a loopback
    /// address, for tests and local development).
    pub fn new(service_url: &str, timeout: Duration) -> Result<Client> {
        let url = reqwest::Url::parse(service_url)
            .map_err(|_| Error::InvalidInput("the service URL is not a URL".into()))?;
        let host = url.host_str().unwrap_or("");
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(Error::InvalidInput(
                    "the service URL must use https (http only to a loopback address)".into(),
                ));
            }
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Internal("TLS configuration".into()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .no_proxy()
            .https_only(!loopback)
            .build()
            .map_err(|_| Error::Internal("HTTP client configuration".into()))?;
        Ok(Client {
            http,
            base: service_url.trim_end_matches('/').into(),
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> Result<T, SendError> {
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().await.map_err(|e| classify(&e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| classify(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|_| SendError::Transient("bad_response".into()));
        }
        Err(classify_status(status.as_u16(), &bytes))
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &B,
    ) -> Result<T, SendError> {
        let body = serde_json::to_vec(body).map_err(|_| SendError::Rejected {
            status: 0,
            code: "encoding".into(),
            message: "could not encode the request".into(),
        })?;
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        self.send(req, token).await
    }

    /// `POST /v1/cases`.
    pub async fn create_case(
        &self,
        req: &p::CreateCaseRequest,
    ) -> Result<wire::CreatedCase, SendError> {
        self.post("/v1/cases", None, req).await
    }

    /// `POST /v1/cases/{n}/items`.
    pub async fn add_items(
        &self,
        number: &str,
        token: &str,
        req: &p::AddItemsRequest,
    ) -> Result<wire::AddedItems, SendError> {
        check_case_number(number)?;
        self.post(&format!("/v1/cases/{number}/items"), Some(token), req)
            .await
    }

    /// `POST /v1/cases/{n}/items/{id}/withdraw`.
    pub async fn withdraw_item(
        &self,
        number: &str,
        token: &str,
        item_id: i64,
    ) -> Result<wire::Withdrawn, SendError> {
        check_case_number(number)?;
        self.post(
            &format!("/v1/cases/{number}/items/{item_id}/withdraw"),
            Some(token),
            &serde_json::json!({}),
        )
        .await
    }

    /// `POST /v1/cases/{n}/withdraw`.
    pub async fn withdraw_case(
        &self,
        number: &str,
        token: &str,
    ) -> Result<wire::Withdrawn, SendError> {
        check_case_number(number)?;
        self.post(
            &format!("/v1/cases/{number}/withdraw"),
            Some(token),
            &serde_json::json!({}),
        )
        .await
    }

    /// `GET /v1/cases/{n}`.
    pub async fn status(&self, number: &str, token: &str) -> Result<wire::CaseStatus, SendError> {
        self.status_page(number, token, None).await
    }

    /// `GET /v1/cases/{n}?items_after=…`: the page of items after `after`.
    pub async fn status_page(
        &self,
        number: &str,
        token: &str,
        after: Option<i64>,
    ) -> Result<wire::CaseStatus, SendError> {
        check_case_number(number)?;
        let url = match after {
            Some(a) => format!("{}/v1/cases/{number}?items_after={a}", self.base),
            None => format!("{}/v1/cases/{number}", self.base),
        };
        self.send(self.http.get(url), Some(token)).await
    }

    /// `POST /v1/cases/{n}/restore`: the recovery key (written form) for a
    /// fresh token.
    pub async fn restore(
        &self,
        number: &str,
        recovery_key: &str,
    ) -> Result<wire::RestoredCase, SendError> {
        check_case_number(number)?;
        self.post(
            &format!("/v1/cases/{number}/restore"),
            None,
            &p::RestoreCaseRequest {
                recovery_key: recovery_key.to_string(),
            },
        )
        .await
    }
}

/// Runs `call` until it succeeds, is rejected, or `policy.max_attempts` transient
/// failures have happened (sleeping [`RetryPolicy::delay`] between attempts).
pub async fn with_retries<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T, SendError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SendError>>,
{
    let mut n = 0;
    loop {
        n += 1;
        match call().await {
            Err(SendError::Transient(class)) if n < policy.max_attempts.max(1) => {
                tracing::debug!(target: "takedown_app::client", class, attempt = n, "transient failure; retrying");
                tokio::time::sleep(policy.delay(n)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..100 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d9 = p.delay(9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_millis(1000));
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| p.delay(4)).collect();
        assert!(spread.len() > 1, "jitter varies the delay");
    }

    #[test]
    fn only_the_services_own_error_rejects_for_good() {
        let json = br#"{"error":{"code":"invalid_field","message":"m","field":"x","new":1}}"#;
        for code in [408u16, 425, 429, 500, 503] {
            assert!(
                matches!(classify_status(code, json), SendError::Transient(_)),
                "{code}"
            );
        }
        assert!(matches!(
            classify_status(403, b"<html>Access denied</html>"),
            SendError::Transient(_)
        ));
        assert!(matches!(classify_status(404, b""), SendError::Transient(_)));
        match classify_status(422, json) {
            SendError::Rejected { status, code, .. } => {
                assert_eq!((status, code.as_str()), (422, "invalid_field"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_status(403, br#"{"error":{"code":"forbidden","message":""}}"#),
            SendError::Rejected { .. }
        ));
    }

    #[test]
    fn refuses_plain_http_to_a_remote_host() {
        assert!(Client::new("http://example.org", Duration::from_secs(1)).is_err());
        assert!(Client::new("not a url", Duration::from_secs(1)).is_err());
        assert!(Client::new("https://example.org", Duration::from_secs(1)).is_ok());
        assert!(Client::new("http://127.0.0.1:9", Duration::from_secs(1)).is_ok());
        assert!(Client::new("http://localhost:9", Duration::from_secs(1)).is_ok());
    }
}
