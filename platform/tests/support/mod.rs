//! Shared harness: the real hash-list service in-process on loopback (its own
//! SQLite file), a platform API key issued through the service's admin path, an
//! HTTP proxy in front of it that injects faults (status codes, lost answers,
//! rewritten sync pages), and synthetic photos.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use takedown_server::Limits;
use takedown_server::store::{DatabaseConfig, Store};

/// A plain HTTP client for the tests (loopback only).
pub fn http() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap()
}

/// The service on 127.0.0.1:0.
pub struct Service {
    pub url: String,
    pub db_path: PathBuf,
    pub store: Store,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Service {
    pub async fn start() -> Service {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("service.sqlite3");
        let store = Store::open(&DatabaseConfig::Sqlite {
            path: db_path.clone(),
            readers: 2,
        })
        .await
        .expect("open service store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(takedown_server::serve(
            listener,
            store.clone(),
            Limits {
                rate_per_second: 0,
                ..Limits::default()
            },
            async {
                let _ = rx.await;
            },
        ));
        Service {
            url: format!("http://{addr}"),
            db_path,
            store,
            _dir: dir,
            shutdown: Some(tx),
        }
    }

    /// Issues a platform API key (the `platform create` admin path).
    pub async fn platform_key(&self, name: &str) -> String {
        takedown_server::admin::create_platform(&self.store, name)
            .await
            .unwrap()
    }

    /// A number from the service's own database.
    pub fn count(&self, sql: &str) -> i64 {
        let c = rusqlite::Connection::open_with_flags(
            &self.db_path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Opens a case with these items (wire JSON); returns (case number, token, item ids).
    pub async fn create_case(&self, items: Vec<Value>) -> (String, String, Vec<i64>) {
        let key = format!("k{:030x}", rand_u128());
        let r = http()
            .post(format!("{}/v1/cases", self.url))
            .json(&json!({
                "idempotency_key": key,
                "attestations": {"person_shown_was_under_18": true, "submitter": "person_shown"},
                "items": items,
            }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "create case: {}", r.status());
        let v: Value = r.json().await.unwrap();
        (
            v["case_number"].as_str().unwrap().to_string(),
            v["case_token"].as_str().unwrap().to_string(),
            v["item_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect(),
        )
    }

    /// Adds items to a case; returns their ids.
    pub async fn add_items(&self, number: &str, token: &str, items: Vec<Value>) -> Vec<i64> {
        let r = http()
            .post(format!("{}/v1/cases/{number}/items", self.url))
            .bearer_auth(token)
            .json(&json!({"idempotency_key": format!("k{:030x}", rand_u128()), "items": items}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "add items: {}", r.status());
        let v: Value = r.json().await.unwrap();
        v["item_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect()
    }

    /// Withdraws one item.
    pub async fn withdraw_item(&self, number: &str, token: &str, item: i64) {
        let r = http()
            .post(format!(
                "{}/v1/cases/{number}/items/{item}/withdraw",
                self.url
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "withdraw: {}", r.status());
    }

    /// The case status as JSON.
    pub async fn status(&self, number: &str, token: &str) -> Value {
        let r = http()
            .get(format!("{}/v1/cases/{number}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "status: {}", r.status());
        r.json().await.unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn rand_u128() -> u128 {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(1);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    t ^ (u128::from(N.fetch_add(1, Ordering::Relaxed)) << 64)
}

/// Deterministic pseudo-random bytes.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for x in b.iter_mut() {
            *x = self.next() as u8;
        }
        b
    }
}

/// A picture item with random fingerprints (wire JSON).
pub fn random_image(rng: &mut Rng) -> Value {
    json!({"image": {
        "md5": hex::encode(rng.bytes::<16>()),
        "sha256": hex::encode(rng.bytes::<32>()),
        "pdq": hex::encode(rng.bytes::<32>()),
        "quality": 90,
    }})
}

/// A video item with random fingerprints (wire JSON).
pub fn random_video(rng: &mut Rng, frames: usize) -> Value {
    let frames: Vec<Value> = (0..frames)
        .map(|i| json!({"t": i as f64, "pdq": hex::encode(rng.bytes::<32>()), "quality": 80}))
        .collect();
    json!({"video": {
        "md5": hex::encode(rng.bytes::<16>()),
        "sha256": hex::encode(rng.bytes::<32>()),
        "frames": frames,
    }})
}

/// A fault the proxy applies to the next matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status without forwarding.
    Status(u16),
    /// Forward (the service applies it), then answer 502: the answer is lost.
    ForwardThenFail,
}

/// Rewrites a sync page (raw JSON) before it is passed on.
pub type Rewrite = Arc<dyn Fn(&mut Value) + Send + Sync>;

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    faults: Arc<Mutex<VecDeque<(String, Fault)>>>,
    rewrite: Arc<Mutex<Option<Rewrite>>>,
    requests: Arc<Mutex<Vec<String>>>,
    forwarded: Arc<AtomicUsize>,
}

/// An HTTP proxy on loopback in front of the service.
pub struct Proxy {
    pub url: String,
    state: ProxyState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn proxy_handler(State(st): State<ProxyState>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    st.requests.lock().unwrap().push(format!("{method} {path}"));
    let fault = {
        let mut f = st.faults.lock().unwrap();
        match f.front() {
            Some((prefix, _)) if path.starts_with(prefix.as_str()) => f.pop_front().map(|x| x.1),
            _ => None,
        }
    };
    let error = |status: u16| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"error":{"code":"injected","message":"injected by the test proxy"}}"#,
            ))
            .unwrap()
    };
    if let Some(Fault::Status(s)) = fault {
        return error(s);
    }
    let mut fwd = st
        .client
        .request(method, format!("{}{}", st.upstream, path))
        .body(body.to_vec());
    for (k, v) in &headers {
        if k == "authorization" || k == "content-type" {
            fwd = fwd.header(k.as_str(), v.as_str());
        }
    }
    let Ok(resp) = fwd.send().await else {
        return error(502);
    };
    st.forwarded.fetch_add(1, Ordering::SeqCst);
    let status = resp.status();
    let mut bytes = resp.bytes().await.unwrap_or_default().to_vec();
    if let Some(Fault::ForwardThenFail) = fault {
        return error(502);
    }
    let rw = st.rewrite.lock().unwrap().clone();
    if let Some(rw) = rw
        && status.is_success()
        && path.starts_with("/v1/sync")
    {
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        rw(&mut v);
        bytes = serde_json::to_vec(&v).unwrap();
    }
    Response::builder()
        .status(status.as_u16())
        .header("content-type", "application/json")
        .body(Body::from(bytes))
        .unwrap()
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let state = ProxyState {
            upstream: upstream.to_string(),
            client: http(),
            faults: Arc::default(),
            rewrite: Arc::default(),
            requests: Arc::default(),
            forwarded: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(proxy_handler)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Proxy {
            url: format!("http://{addr}"),
            state,
            shutdown: Some(tx),
        }
    }

    /// Applies `fault` to the next request whose path starts with `prefix`.
    pub fn fault(&self, prefix: &str, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap()
            .push_back((prefix.to_string(), fault));
    }

    /// Rewrites every successful sync page from now on.
    pub fn rewrite_sync(&self, f: impl Fn(&mut Value) + Send + Sync + 'static) {
        *self.state.rewrite.lock().unwrap() = Some(Arc::new(f));
    }

    /// Requests seen (method and path), in order.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub mod pictures;
