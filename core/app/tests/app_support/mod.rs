//! Shared harness of the `app_*` tests: the real hash-list service on loopback
//! (in-process, its own SQLite file), an HTTP proxy in front of it that records
//! every request body and can inject faults, a key provider in a temp dir, and
//! synthetic photos. The FFI crate's tests include this file too
//! (`core/ffi/tests/app_support`).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "../../../../tests/skip.rs"]
mod skip_log;
#[allow(unused_imports)]
pub use skip_log::skip;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use takedown_app::{App, Clock, FileKeyStore, NetworkOptions};
use takedown_server::Limits;
use takedown_server::store::{DatabaseConfig, Store};

/// A plain HTTP client for the tests (rustls with ring, like the core).
pub fn http() -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap()
}

/// The hash-list service on 127.0.0.1:0 with its own SQLite file.
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

    /// A number from the service's own database.
    pub fn count(&self, sql: &str) -> i64 {
        let c = rusqlite::Connection::open_with_flags(
            &self.db_path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub fn cases(&self) -> i64 {
        self.count("SELECT count(*) FROM cases")
    }

    pub fn items(&self) -> i64 {
        self.count("SELECT count(*) FROM items")
    }

    /// Registers a platform, syncs the whole list as it and reports `outcome`
    /// for every item id given.
    pub async fn platform_reports(&self, name: &str, item_ids: &[i64], outcome: &str) {
        let key = takedown_server::admin::create_platform(&self.store, name)
            .await
            .unwrap_or_else(|_| panic!("platform {name}"));
        let c = http();
        // A platform acknowledges a page by asking for the next one.
        let mut cursor = 0i64;
        for _ in 0..2 {
            let r = c
                .get(format!("{}/v1/sync?cursor={cursor}", self.url))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "sync: {}", r.status());
            let page: serde_json::Value = r.json().await.unwrap();
            cursor = page["next_cursor"].as_i64().unwrap();
        }
        if item_ids.is_empty() {
            return;
        }
        let events: Vec<_> = item_ids
            .iter()
            .map(|id| serde_json::json!({"event_id": format!("{name}-{id}-{outcome}"), "item_id": id, "outcome": outcome}))
            .collect();
        let r = c
            .post(format!("{}/v1/feedback", self.url))
            .bearer_auth(&key)
            .json(&serde_json::json!({ "events": events }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "feedback: {}", r.status());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A fault the proxy applies to the next request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status (and an error body) without forwarding.
    Status(u16),
    /// Hold the request this long without forwarding it, then answer 502.
    Hold(Duration),
    /// Forward it (the service applies it), then hold the answer this long
    /// before passing it on: with a shorter client timeout, the answer is lost.
    ForwardThenHold(Duration),
    /// Answer with this status and an HTML page (a CDN or WAF), not forwarding.
    Page(u16),
}

/// Rewrites every JSON answer of the service before it is passed on (a "newer
/// service" adding fields and enum values).
pub type Rewrite = Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>;

/// One request that went through the proxy.
#[derive(Clone, Debug)]
pub struct Captured {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    captured: Arc<Mutex<Vec<Captured>>>,
    responses: Arc<Mutex<Vec<Vec<u8>>>>,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    forwarded: Arc<AtomicUsize>,
    rewrite: Arc<Mutex<Option<Rewrite>>>,
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
    st.captured.lock().unwrap().push(Captured {
        method: method.to_string(),
        path: path.clone(),
        headers: headers.clone(),
        body: body.to_vec(),
    });
    let fault = st.faults.lock().unwrap().pop_front();
    let error = |status: u16| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"error":{"code":"injected","message":"injected by the test proxy"}}"#,
            ))
            .unwrap()
    };
    match &fault {
        Some(Fault::Status(s)) => return error(*s),
        Some(Fault::Hold(d)) => {
            tokio::time::sleep(*d).await;
            return error(502);
        }
        Some(Fault::Page(s)) => {
            return Response::builder()
                .status(*s)
                .header("content-type", "text/html")
                .body(Body::from(
                    "<html><body>Request blocked by the edge</body></html>",
                ))
                .unwrap();
        }
        _ => {}
    }
    let mut fwd = st
        .client
        .request(method, format!("{}{}", st.upstream, path))
        .body(body.to_vec());
    for (k, v) in &headers {
        if k == "authorization" || k == "content-type" || k == "user-agent" {
            fwd = fwd.header(k.as_str(), v.as_str());
        }
    }
    let resp = match fwd.send().await {
        Ok(r) => r,
        Err(_) => return error(502),
    };
    st.forwarded.fetch_add(1, Ordering::SeqCst);
    let status = resp.status();
    let mut bytes = resp.bytes().await.unwrap_or_default();
    let rewrite = st.rewrite.lock().unwrap().clone();
    if let Some(rw) = rewrite
        && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes)
    {
        rw(&mut v);
        bytes = serde_json::to_vec(&v).unwrap().into();
    }
    st.responses.lock().unwrap().push(bytes.to_vec());
    if let Some(Fault::ForwardThenHold(d)) = fault {
        tokio::time::sleep(d).await;
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
            captured: Arc::default(),
            responses: Arc::default(),
            faults: Arc::default(),
            forwarded: Arc::default(),
            rewrite: Arc::default(),
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

    pub fn push_fault(&self, f: Fault) {
        self.state.faults.lock().unwrap().push_back(f);
    }

    /// Rewrites every JSON answer from now on.
    pub fn set_rewrite(&self, rw: Rewrite) {
        *self.state.rewrite.lock().unwrap() = Some(rw);
    }

    pub fn captured(&self) -> Vec<Captured> {
        self.state.captured.lock().unwrap().clone()
    }

    /// Bodies of the service's answers passed back.
    pub fn responses(&self) -> Vec<Vec<u8>> {
        self.state.responses.lock().unwrap().clone()
    }

    /// Requests seen (including faulted ones).
    pub fn requests(&self) -> usize {
        self.state.captured.lock().unwrap().len()
    }

    /// Requests passed on to the service.
    pub fn forwarded(&self) -> usize {
        self.state.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A phone: a data directory and a key file.
pub struct Phone {
    pub dir: tempfile::TempDir,
}

impl Phone {
    pub fn new() -> Phone {
        Phone {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("history.key")
    }
    pub fn history_path(&self) -> PathBuf {
        self.data_dir().join(takedown_app::HISTORY_FILE)
    }
    /// The plain-Rust core.
    pub fn open_app(&self, url: &str) -> App {
        App::open(
            &self.data_dir(),
            url,
            Arc::new(FileKeyStore::new(self.key_path())),
            fast_options(),
        )
        .expect("open app")
    }
    /// The plain-Rust core reading the time from `clock`.
    pub fn open_app_with_clock(&self, url: &str, clock: Arc<dyn Clock>) -> App {
        App::open_with_clock(
            &self.data_dir(),
            url,
            Arc::new(FileKeyStore::new(self.key_path())),
            fast_options(),
            clock,
        )
        .expect("open app")
    }
}

/// Short timeouts and backoff so fault tests finish quickly.
pub fn fast_options() -> NetworkOptions {
    NetworkOptions {
        request_timeout_ms: 1500,
        max_attempts: 3,
        base_delay_ms: 20,
        max_delay_ms: 200,
    }
}

/// A distinct photo-like PNG for `seed` (smooth gradients and blocks: PDQ quality
/// well above 50, far apart for different seeds).
pub fn photo_png(seed: u32, w: u32, h: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let blocks: Vec<(u32, u32, u32, u32, [u8; 3])> = (0..12)
        .map(|_| {
            let x = rnd() % w;
            let y = rnd() % h;
            let bw = w / 8 + rnd() % (w / 3);
            let bh = h / 8 + rnd() % (h / 3);
            let c = [rnd() as u8, rnd() as u8, rnd() as u8];
            (x, y, bw, bh, c)
        })
        .collect();
    let fx = (rnd() % 7 + 1) as f32;
    let fy = (rnd() % 7 + 1) as f32;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let mut px = [
            (128.0 + 100.0 * (x as f32 * fx / w as f32 * std::f32::consts::TAU).sin()) as u8,
            (128.0 + 100.0 * (y as f32 * fy / h as f32 * std::f32::consts::TAU).cos()) as u8,
            ((x + y) % 256) as u8,
        ];
        for (bx, by, bw, bh, c) in &blocks {
            if x >= *bx && x < bx + bw && y >= *by && y < by + bh {
                px = *c;
            }
        }
        image::Rgb(px)
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Repository fixture image.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/images")
        .join(name)
}

/// A clock the test moves by hand (milliseconds since the epoch).
pub struct TestClock(pub std::sync::atomic::AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Fingerprints of synthetic photos (160×120, one per seed), as the phone makes them.
pub fn photo_fingerprints(seeds: &[u32]) -> Vec<takedown_app::selection::ItemFingerprint> {
    use takedown_app::selection::{SelectionInput, hash_selection};
    let inputs = seeds
        .iter()
        .map(|s| SelectionInput::ImageBytes(photo_png(*s, 160, 120)))
        .collect();
    hash_selection(inputs, &|_, _| {}, &Default::default())
        .unwrap()
        .into_iter()
        .map(|h| h.fingerprint.unwrap())
        .collect()
}

/// Items to submit: one synthetic photo per seed, each with `label`.
pub fn photo_items(seeds: &[u32], label: Option<&str>) -> Vec<takedown_app::outbox::SubmitItem> {
    photo_fingerprints(seeds)
        .into_iter()
        .map(|fingerprint| takedown_app::outbox::SubmitItem {
            fingerprint,
            label: label.map(str::to_string),
        })
        .collect()
}
