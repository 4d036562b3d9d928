//! HTTP client for the platform side of the hash-list service: reqwest on rustls
//! (ring, Mozilla roots), the platform API key as `Authorization: Bearer`, and
//! classified failures.
//!
//! Classification: connection failures, timeouts, 5xx, 429 and unreadable answers
//! are transient ([`Error::Transient`], retried with backoff and jitter); every
//! other 4xx is a rejection ([`Error::Rejected`], never retried).

use std::sync::Arc;
use std::time::Duration;

use takedown_protocol as p;

use crate::error::{Error, Result};

/// User agent: product and version only.
pub const USER_AGENT: &str = concat!("takedown-platform/", env!("CARGO_PKG_VERSION"));

/// How failed requests are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per request (≥ 1).
    pub max_attempts: u32,
    /// Delay after the first failure; doubles each time.
    pub base_delay: Duration,
    /// Largest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Delay after failed attempt `n` (1-based): `base · 2^(n-1)`, capped, with
    /// jitter in `[d/2, d]` so many platforms do not retry in step.
    pub fn delay(&self, n: u32) -> Duration {
        let d = self
            .base_delay
            .saturating_mul(1u32 << n.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = d / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// Runs `call` until it succeeds, fails for good, or `policy.max_attempts`
/// transient failures happened.
pub async fn with_retries<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut n = 0;
    loop {
        n += 1;
        match call().await {
            Err(Error::Transient(class)) if n < policy.max_attempts.max(1) => {
                tracing::warn!(class, attempt = n, "transient failure; retrying");
                tokio::time::sleep(policy.delay(n)).await;
            }
            other => return other,
        }
    }
}

/// A sync page as read by the tolerant reader: entries stay raw JSON so that
/// one bad entry cannot spoil the page, and unknown fields are ignored.
#[derive(Debug, serde::Deserialize)]
pub struct RawPage {
    /// The entries, parsed one by one later.
    pub entries: Vec<serde_json::Value>,
    /// Cursor to ask with next.
    pub next_cursor: i64,
    /// Whether more changes are available.
    pub has_more: bool,
}

/// The service's answer to feedback, read tolerantly.
#[derive(Debug, serde::Deserialize)]
pub struct FeedbackAnswer {
    /// Events recorded now.
    pub accepted: u32,
    /// Events recorded earlier (same event id).
    pub duplicates: u32,
}

#[derive(serde::Deserialize)]
struct ErrBody {
    error: ErrDetail,
}

#[derive(serde::Deserialize)]
struct ErrDetail {
    code: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    message: String,
}

/// A rejection with the field the service blamed (for feedback batches).
#[derive(Debug)]
pub struct Rejection {
    /// The error.
    pub error: Error,
    /// The blamed field, e.g. `events[3].item_id`.
    pub field: Option<String>,
}

/// The service client. `Debug` never shows the API key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    key: Arc<str>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn classify(e: &reqwest::Error) -> Error {
    let class = if e.is_timeout() {
        "timeout"
    } else if e.is_decode() || e.is_body() {
        "bad_response"
    } else {
        "offline"
    };
    Error::Transient(class.into())
}

impl Client {
    /// A client for `service_url` (`https://…`; plain `http://` only to a loopback
    /// address) with the platform's API key.
    pub fn new(service_url: &str, api_key: &str, timeout: Duration) -> Result<Client> {
        let url = reqwest::Url::parse(service_url)
            .map_err(|_| Error::Config("the service URL is not a URL".into()))?;
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
                return Err(Error::Config(
                    "the service URL must use https (http only to a loopback address)".into(),
                ));
            }
        }
        if api_key.trim().is_empty() {
            return Err(Error::Config(
                "an API key is required (--api-key or TAKEDOWN_API_KEY)".into(),
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Config("TLS configuration".into()))?
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
            .map_err(|_| Error::Config("HTTP client configuration".into()))?;
        Ok(Client {
            http,
            base: service_url.trim_end_matches('/').into(),
            key: api_key.trim().into(),
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> std::result::Result<Vec<u8>, Rejection> {
        let plain = |error| Rejection { error, field: None };
        let resp = req
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| plain(classify(&e)))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| plain(classify(&e)))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let code = status.as_u16();
        if status.is_server_error() {
            return Err(plain(Error::Transient(format!("http_{code}"))));
        }
        if code == 429 {
            return Err(plain(Error::Transient("rate_limited".into())));
        }
        let (err_code, field, message) = match serde_json::from_slice::<ErrBody>(&body) {
            Ok(b) => (b.error.code, b.error.field, b.error.message),
            Err(_) => (format!("http_{code}"), None, String::new()),
        };
        let message = match code {
            401 => "the API key was refused; check TAKEDOWN_API_KEY / --api-key".to_string(),
            _ => message,
        };
        Err(Rejection {
            error: Error::Rejected {
                status: code,
                code: err_code,
                message,
            },
            field,
        })
    }

    /// `GET /v1/sync?cursor=&limit=`, read tolerantly.
    pub async fn sync_page(&self, cursor: i64, limit: u32) -> Result<RawPage> {
        let req = self.http.get(format!(
            "{}/v1/sync?cursor={cursor}&limit={limit}",
            self.base
        ));
        let body = self.send(req).await.map_err(|r| r.error)?;
        serde_json::from_slice(&body).map_err(|_| Error::Transient("bad_response".into()))
    }

    /// `POST /v1/feedback`.
    pub async fn feedback(
        &self,
        req: &p::FeedbackRequest,
    ) -> std::result::Result<FeedbackAnswer, Rejection> {
        let body = serde_json::to_vec(req).map_err(|_| Rejection {
            error: Error::Config("could not encode feedback".into()),
            field: None,
        })?;
        let req = self
            .http
            .post(format!("{}/v1/feedback", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let body = self.send(req).await?;
        serde_json::from_slice(&body).map_err(|_| Rejection {
            error: Error::Transient("bad_response".into()),
            field: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_plain_http_to_remote_hosts_and_empty_keys() {
        assert!(Client::new("http://example.com", "k", Duration::from_secs(1)).is_err());
        assert!(Client::new("http://127.0.0.1:1", "", Duration::from_secs(1)).is_err());
        let c = Client::new("http://127.0.0.1:1", "secret-key", Duration::from_secs(1)).unwrap();
        assert!(!format!("{c:?}").contains("secret-key"));
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for n in 1..10 {
            let d = p.delay(n);
            let full = Duration::from_millis(100 * (1 << (n - 1))).min(Duration::from_millis(1000));
            assert!(d >= full / 2 && d <= full, "{n}: {d:?}");
        }
    }
}
