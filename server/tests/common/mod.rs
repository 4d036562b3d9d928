//! Shared test harness: backends, servers on loopback, a small HTTP client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use takedown_server::Limits;
use takedown_server::store::{DatabaseConfig, Store};

/// Which storage backend a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Reports a test that cannot run here (workspace convention, HELPERS.md): prints
/// `SKIPPED <name>: <reason>` and, when `TAKEDOWN_SKIP_LOG` names a file, appends
/// `<name>\t<reason>` to it, so the run counts it as skipped, never as passed.
pub fn skip(name: &str, reason: &str) {
    eprintln!("SKIPPED {name}: {reason}");
    if let Ok(path) = std::env::var("TAKEDOWN_SKIP_LOG")
        && !path.is_empty()
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open TAKEDOWN_SKIP_LOG {path}: {e}"));
        writeln!(f, "{name}\t{reason}").expect("write TAKEDOWN_SKIP_LOG");
    }
}

/// Why the PostgreSQL variants skip.
pub const NO_POSTGRES: &str = "TAKEDOWN_TEST_POSTGRES_URL is not set (source scripts/pg-start.sh to include the PostgreSQL backend)";

/// The PostgreSQL URL, or `None` when the PostgreSQL variants must skip.
/// Panics when `TAKEDOWN_REQUIRE_POSTGRES` is set and no URL is.
pub fn pg_base_url() -> Option<String> {
    match std::env::var("TAKEDOWN_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var_os("TAKEDOWN_REQUIRE_POSTGRES").is_some_and(|v| !v.is_empty()) {
                panic!("TAKEDOWN_REQUIRE_POSTGRES is set but TAKEDOWN_TEST_POSTGRES_URL is not");
            }
            None
        }
    }
}

/// A fresh, isolated database location for a backend: a temp dir for SQLite,
/// a new schema for PostgreSQL. `None` when the backend is unavailable.
pub struct TestDb {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    /// PostgreSQL URL selecting the schema (PostgreSQL only).
    pub pg_url: Option<String>,
    schema: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => Some(TestDb {
                backend,
                dir,
                pg_url: None,
                schema: None,
            }),
            Backend::Postgres => {
                let base = pg_base_url()?;
                let schema = format!("t_{}", hex::encode(rand::random::<[u8; 6]>()));
                let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                    .await
                    .expect("connect to TAKEDOWN_TEST_POSTGRES_URL");
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                Some(TestDb {
                    backend,
                    dir,
                    pg_url: Some(url),
                    schema: Some((base, schema)),
                })
            }
        }
    }

    pub fn config(&self, commit_jitter: Option<Duration>) -> DatabaseConfig {
        match self.backend {
            Backend::Sqlite => DatabaseConfig::Sqlite {
                path: self.dir.path().join("takedown.sqlite3"),
                readers: 4,
            },
            Backend::Postgres => DatabaseConfig::Postgres {
                url: self.pg_url.clone().expect("pg url"),
                pool_size: 16,
                commit_jitter,
            },
        }
    }

    /// Arguments selecting this database for the server binary.
    pub fn cli_args(&self) -> Vec<String> {
        match self.backend {
            Backend::Sqlite => vec!["--data-dir".into(), self.dir.path().display().to_string()],
            Backend::Postgres => vec!["--database".into(), self.pg_url.clone().expect("pg url")],
        }
    }

    /// Drops the PostgreSQL schema.
    pub async fn drop_schema(&self) {
        if let Some((base, schema)) = &self.schema
            && let Ok((client, conn)) = tokio_postgres::connect(base, tokio_postgres::NoTls).await
        {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await;
        }
    }
}

/// Limits for tests: no rate limiting unless a test asks for it.
pub fn test_limits() -> Limits {
    Limits {
        rate_per_second: 0,
        ..Limits::default()
    }
}

/// An in-process server on 127.0.0.1:0 with one platform.
pub struct TestServer {
    pub db: TestDb,
    pub http: Http,
    pub platform_key: String,
    pub store: Store,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, test_limits(), None).await
    }

    pub async fn start_with(
        backend: Backend,
        limits: Limits,
        commit_jitter: Option<Duration>,
    ) -> Option<TestServer> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("TAKEDOWN_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let db = TestDb::new(backend).await?;
        let store = Store::open(&db.config(commit_jitter))
            .await
            .expect("open store");
        let platform_key = takedown_server::admin::create_platform(&store, "testplatform")
            .await
            .expect("create platform");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(takedown_server::serve(
            listener,
            store.clone(),
            limits,
            async {
                let _ = rx.await;
            },
        ));
        Some(TestServer {
            db,
            http: Http::new(addr),
            platform_key,
            store,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// A second service instance on the same database (another store, pool and
    /// listener), as a second replica would be. Stops when the sender is dropped
    /// or fired.
    pub async fn replica(
        &self,
        commit_jitter: Option<Duration>,
    ) -> (Http, tokio::sync::oneshot::Sender<()>) {
        let store = Store::open(&self.db.config(commit_jitter))
            .await
            .expect("open replica store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(takedown_server::serve(
            listener,
            store,
            test_limits(),
            async {
                let _ = rx.await;
            },
        ));
        (Http::new(addr), tx)
    }

    /// Graceful stop, then drop the PostgreSQL schema.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server result");
        }
        self.db.drop_schema().await;
    }
}

/// A response.
pub struct Resp {
    pub status: u16,
    pub body: Bytes,
    pub content_type: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The `field` of an error answer.
    pub fn field(&self) -> Option<String> {
        self.json()["error"]["field"].as_str().map(str::to_string)
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// Minimal HTTP/1.1 client on hyper.
#[derive(Clone)]
pub struct Http {
    pub addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    pub fn new(addr: SocketAddr) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(64)
            .build_http();
        Http { addr, client }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        self.try_send(method, path, auth, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Resp, String> {
        let auth = auth.map(|a| format!("Bearer {a}"));
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.request(method, path, &headers, body.unwrap_or_default())
            .await
    }

    /// A request with exactly these headers (no defaults added).
    pub async fn send_headers(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        self.request(method, path, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Resp, String> {
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Resp {
            status,
            body,
            content_type,
        })
    }

    pub async fn get(&self, path: &str, auth: Option<&str>) -> Resp {
        self.send("GET", path, auth, None).await
    }

    pub async fn post(&self, path: &str, auth: Option<&str>, body: &Value) -> Resp {
        self.send("POST", path, auth, Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    pub async fn post_raw(&self, path: &str, auth: Option<&str>, body: Vec<u8>) -> Resp {
        self.send("POST", path, auth, Some(body)).await
    }

    /// Syncs from `cursor` to the end; returns all entries and the final cursor.
    pub async fn sync_all(&self, key: &str, mut cursor: i64, limit: u32) -> (Vec<Value>, i64) {
        let mut out = Vec::new();
        loop {
            let r = self
                .get(
                    &format!("/v1/sync?cursor={cursor}&limit={limit}"),
                    Some(key),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            let page = r.json();
            let entries = page["entries"].as_array().unwrap().clone();
            cursor = page["next_cursor"].as_i64().unwrap();
            let more = page["has_more"].as_bool().unwrap();
            out.extend(entries);
            if !more {
                return (out, cursor);
            }
        }
    }
}

pub fn rand_hex(n: usize) -> String {
    let v: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    hex::encode(v)
}

pub fn image_item() -> Value {
    json!({"image": {"md5": rand_hex(16), "sha256": rand_hex(32), "pdq": rand_hex(32), "quality": 90}})
}

/// A picture with both edge cuts (ADR 0410).
pub fn image_item_with_cuts() -> Value {
    let cut = || json!({"pdq": rand_hex(32), "quality": 70});
    json!({"image": {"md5": rand_hex(16), "sha256": rand_hex(32), "pdq": rand_hex(32), "quality": 90,
        "edge_cuts": {"top_20": cut(), "bottom_20": cut()}}})
}

pub fn video_item(frames: usize) -> Value {
    let frames: Vec<Value> = (0..frames)
        .map(|i| json!({"t": i as f64, "pdq": rand_hex(32), "quality": 80}))
        .collect();
    json!({"video": {"md5": rand_hex(16), "sha256": rand_hex(32), "frames": frames}})
}

pub fn idem_key() -> String {
    rand_hex(16)
}

pub fn case_body(key: &str, items: Vec<Value>) -> Value {
    json!({
        "idempotency_key": key,
        "attestations": {"person_shown_was_under_18": true, "submitter": "person_shown"},
        "items": items,
    })
}

/// Creates a case; returns (number, token, item ids).
pub async fn create_case(http: &Http, items: Vec<Value>) -> (String, String, Vec<i64>) {
    let r = http
        .post("/v1/cases", None, &case_body(&idem_key(), items))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
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

/// Defines `mod $name { sqlite, postgres }` tests running `$name(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if pg_base_url().is_some() {
                        super::$name(Backend::Postgres).await;
                    } else {
                        skip(concat!(stringify!($name), "::postgres"), NO_POSTGRES);
                    }
                }
            }
        )*
    };
}

/// The MD5 (hex) an item input carries: how a test recognises its item in a
/// platform's sync, since submitters get per-case numbers, not global ids.
pub fn md5_of(item: &Value) -> String {
    let inner = item.get("image").or_else(|| item.get("video")).unwrap();
    inner["md5"].as_str().unwrap().to_string()
}

/// The global id a platform sees for this item input, found by its MD5 in
/// one full sync page from cursor 0 (which records no sync position).
pub async fn global_id(http: &Http, platform_key: &str, item: &Value) -> i64 {
    let r = http
        .get("/v1/sync?cursor=0&limit=10000", Some(platform_key))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.json();
    assert_eq!(page["has_more"], false, "one page holds the test's items");
    let md5 = md5_of(item);
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["op"] == "add" && e["md5"].as_str() == Some(md5.as_str()))
        .and_then(|e| e["item_id"].as_i64())
        .unwrap()
}
