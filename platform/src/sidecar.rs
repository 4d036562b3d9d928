//! The HTTP sidecar an upload pipeline calls: `takedown-platform serve`.
//!
//! * `POST /v1/match` with the upload's bytes (bounded size, decoding limits):
//!   exact hashes and PDQ with query expansion (incl. `bar-cut-20` against the
//!   listed edge cuts). Each hit says which query variant matched (`variant`) and,
//!   for PDQ, which listed hash (`listed`: `picture`, `cut-top-20`, `cut-bottom-20`).
//! * `POST /v1/match/fingerprints` with fingerprints as JSON
//!   (`{"md5","sha256","pdq","quality","frames":[{"pdq","quality"}]}`, all optional).
//! * `POST /v1/feedback` `{"item_id","outcome","reference"?,"event_id"?}`: queued in
//!   the local file and sent in the background until confirmed.
//! * `GET /healthz`, `GET /metrics` (Prometheus text).
//!
//! A background task syncs the list; each committed page is applied to the matcher
//! under a short write lock, so requests are answered from the last good state
//! while the sync runs, and a withdrawal applies before the next request. An
//! upload is decoded and hashed outside the lock; only the index search holds it.
//!
//! On start the saved matcher (`matcher.snapshot`) is loaded when its sync position
//! equals the list's, else the matcher is rebuilt from SQLite. A maintenance task
//! compacts the index off the serving path (the compacted copy is built on a
//! blocking thread from the live entries while requests go on; the writes made
//! meanwhile are replayed onto it and it is swapped in under a short write lock)
//! and saves the matcher when its position moved (encoded under the read lock,
//! written outside it), and once more at shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use takedown_protocol as p;

use crate::client::{Client, RetryPolicy};
use crate::error::{Error, Result};
use crate::fingerprint::media;
use crate::index::Hash;
use crate::matcher::{Hit, Matcher, Opened, Position, QueryPdq};
use crate::scan::{ScanOptions, image_query, match_image_query, merge_hits};
use crate::store::Store;
use crate::sync::{SyncOptions, sync_loop};

/// Sidecar settings.
#[derive(Clone, Debug)]
pub struct SidecarConfig {
    /// Largest request body (an upload) in bytes.
    pub max_body_bytes: usize,
    /// Decoding limits for uploads.
    pub scan: ScanOptions,
    /// Seconds between syncs (`None`: no background sync).
    pub sync_interval: Option<Duration>,
    /// How often the maintenance task checks whether to compact the index and to
    /// save the matcher (`None`: never, except the save at shutdown).
    pub maintenance_interval: Option<Duration>,
    /// Save the matcher beside the list (loaded on the next start when current).
    pub save_snapshot: bool,
}

impl Default for SidecarConfig {
    fn default() -> Self {
        let mut scan = ScanOptions::default();
        scan.decode.limits = media::Limits {
            max_file_bytes: 64 * 1024 * 1024,
            max_pixels: 120_000_000,
            ..media::Limits::default()
        };
        SidecarConfig {
            max_body_bytes: 64 * 1024 * 1024,
            scan,
            sync_interval: Some(Duration::from_secs(300)),
            maintenance_interval: Some(Duration::from_secs(60)),
            save_snapshot: true,
        }
    }
}

#[derive(Default)]
struct Counters {
    requests_match: AtomicU64,
    requests_fingerprints: AtomicU64,
    matched: AtomicU64,
    bad_requests: AtomicU64,
    feedback_queued: AtomicU64,
    match_micros_sum: AtomicU64,
    sync_runs_ok: AtomicU64,
    sync_runs_failed: AtomicU64,
    malformed: AtomicU64,
    cursor: AtomicI64,
    last_sync_ok_unix: AtomicI64,
    compactions: AtomicU64,
    snapshots_saved: AtomicU64,
}

struct Shared {
    matcher: RwLock<Matcher>,
    /// Where the matcher is saved, and the position it was last saved (or loaded) at.
    snapshot: std::path::PathBuf,
    saved_at: std::sync::Mutex<Option<Position>>,
    feedback_store: tokio::sync::Mutex<Store>,
    client: Option<Client>,
    flush_wake: tokio::sync::Notify,
    config: SidecarConfig,
    counters: Counters,
    latency: Latency,
    /// Decodes running at once (one per core): bounds the memory uploads take.
    decode_slots: tokio::sync::Semaphore,
}

/// Latency histogram of match requests (seconds), Prometheus style.
struct Latency {
    bounds: [f64; 10],
    buckets: [AtomicU64; 10],
}

impl Latency {
    fn new() -> Self {
        Latency {
            bounds: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
            buckets: Default::default(),
        }
    }
    fn observe(&self, secs: f64) {
        for (b, c) in self.bounds.iter().zip(&self.buckets) {
            if secs <= *b {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(b) => (status, [(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        &serde_json::json!({"error": {"code": code, "message": message}}),
    )
}

#[derive(serde::Serialize)]
struct Decision<'a> {
    matched: bool,
    hits: &'a [Hit],
    took_ms: f64,
}

async fn match_bytes(State(st): State<Arc<Shared>>, body: Bytes) -> Response {
    let start = Instant::now();
    st.counters.requests_match.fetch_add(1, Ordering::Relaxed);
    if body.is_empty() {
        st.counters.bad_requests.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::BAD_REQUEST,
            "empty_body",
            "send the upload's bytes",
        );
    }
    let Ok(_slot) = st.decode_slots.acquire().await else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "shutting down",
        );
    };
    let st2 = st.clone();
    let r = tokio::task::spawn_blocking(move || {
        // Decoding and hashing need no lock; only the search holds the read lock.
        let q = image_query(&body, &st2.config.scan)?;
        let m = st2
            .matcher
            .read()
            .map_err(|_| "the matcher is unavailable".to_string())?;
        Ok::<_, String>(match_image_query(&m, &q))
    })
    .await;
    let hits = match r {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            st.counters.bad_requests.fetch_add(1, Ordering::Relaxed);
            return error(StatusCode::UNPROCESSABLE_ENTITY, "undecodable", &e);
        }
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "matching failed",
            );
        }
    };
    answer(&st, start, &hits)
}

fn answer(st: &Shared, start: Instant, hits: &[Hit]) -> Response {
    let took = start.elapsed();
    st.latency.observe(took.as_secs_f64());
    st.counters
        .match_micros_sum
        .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    if !hits.is_empty() {
        st.counters.matched.fetch_add(1, Ordering::Relaxed);
    }
    json(
        StatusCode::OK,
        &Decision {
            matched: !hits.is_empty(),
            hits,
            took_ms: took.as_secs_f64() * 1e3,
        },
    )
}

#[derive(Deserialize)]
struct FrameIn {
    pdq: p::Pdq,
    quality: p::Quality,
}

#[derive(Deserialize)]
struct FingerprintsIn {
    #[serde(default)]
    md5: Option<p::Md5>,
    #[serde(default)]
    sha256: Option<p::Sha256>,
    #[serde(default)]
    pdq: Option<p::Pdq>,
    #[serde(default)]
    quality: Option<p::Quality>,
    #[serde(default)]
    frames: Option<Vec<FrameIn>>,
}

async fn match_fingerprints(State(st): State<Arc<Shared>>, body: Bytes) -> Response {
    let start = Instant::now();
    st.counters
        .requests_fingerprints
        .fetch_add(1, Ordering::Relaxed);
    let mut de = serde_json::Deserializer::from_slice(&body);
    let f: FingerprintsIn = match serde_path_to_error::deserialize(&mut de) {
        Ok(f) => f,
        Err(e) => {
            st.counters.bad_requests.fetch_add(1, Ordering::Relaxed);
            let field = e.path().to_string();
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                &format!("{field}: missing or invalid"),
            );
        }
    };
    let frames: Vec<(Hash, u8)> = f
        .frames
        .unwrap_or_default()
        .iter()
        .map(|x| (x.pdq.0, x.quality.get()))
        .collect();
    if frames.len() > p::MAX_FRAMES_PER_VIDEO {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "frames: too many",
        );
    }
    let hits = {
        let Ok(m) = st.matcher.read() else {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "matcher unavailable",
            );
        };
        let mut hits = Vec::new();
        for h in m.match_exact(
            &f.md5.map(|x| x.0).unwrap_or_default(),
            &f.sha256.map(|x| x.0).unwrap_or_default(),
        ) {
            let asked = match h.hash {
                crate::matcher::HashKind::Md5 => f.md5.is_some(),
                _ => f.sha256.is_some(),
            };
            if asked {
                hits.push(h);
            }
        }
        if let Some(pdq) = f.pdq {
            let quality = f.quality.map_or(0, |q| q.get());
            hits.extend(m.match_pdq(&[QueryPdq {
                variant: "original".into(),
                hash: pdq.0,
                quality,
            }]));
        }
        if !frames.is_empty() {
            hits.extend(m.match_frames(&frames));
        }
        merge_hits(hits)
    };
    answer(&st, start, &hits)
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutcomeIn {
    Matched,
    Removed,
    #[serde(alias = "not_violating")]
    ReviewedNotViolating,
}

#[derive(Deserialize)]
struct FeedbackIn {
    item_id: i64,
    outcome: OutcomeIn,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
}

async fn feedback(State(st): State<Arc<Shared>>, body: Bytes) -> Response {
    let f: FeedbackIn = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(_) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "expected {\"item_id\", \"outcome\", \"reference\"?, \"event_id\"?}",
            );
        }
    };
    let outcome = match f.outcome {
        OutcomeIn::Matched => p::Outcome::Matched,
        OutcomeIn::Removed => p::Outcome::Removed,
        OutcomeIn::ReviewedNotViolating => p::Outcome::ReviewedNotViolating,
    };
    let r = {
        let mut store = st.feedback_store.lock().await;
        crate::feedback::enqueue(&mut store, f.item_id, outcome, f.reference, f.event_id)
    };
    match r {
        Ok(id) => {
            st.counters.feedback_queued.fetch_add(1, Ordering::Relaxed);
            st.flush_wake.notify_one();
            json(StatusCode::ACCEPTED, &serde_json::json!({"queued": id}))
        }
        Err(Error::Config(m)) => error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", &m),
        Err(e) => {
            tracing::error!(error = %e, "cannot queue feedback");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "cannot queue feedback",
            )
        }
    }
}

async fn healthz(State(st): State<Arc<Shared>>) -> Response {
    let entries = st.matcher.read().map(|m| m.len()).unwrap_or(0);
    json(
        StatusCode::OK,
        &serde_json::json!({
            "status": "ok",
            "entries": entries,
            "cursor": st.counters.cursor.load(Ordering::Relaxed),
            "last_sync_ok_unix": st.counters.last_sync_ok_unix.load(Ordering::Relaxed),
        }),
    )
}

async fn metrics(State(st): State<Arc<Shared>>) -> Response {
    use std::fmt::Write;
    let c = &st.counters;
    let (entries, hashes, (segments, dead)) = st
        .matcher
        .read()
        .map(|m| (m.len(), m.indexed_hashes(), m.index_shape()))
        .unwrap_or((0, 0, (0, 0)));
    let mut s = String::new();
    let mut line = |name: &str, kind: &str, help: &str, v: String| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    };
    let ld = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
    line(
        "takedown_platform_match_requests_total",
        "counter",
        "Upload match requests.",
        ld(&c.requests_match),
    );
    line(
        "takedown_platform_fingerprint_requests_total",
        "counter",
        "Fingerprint match requests.",
        ld(&c.requests_fingerprints),
    );
    line(
        "takedown_platform_matched_total",
        "counter",
        "Requests that matched the list.",
        ld(&c.matched),
    );
    line(
        "takedown_platform_bad_requests_total",
        "counter",
        "Requests refused (undecodable, invalid).",
        ld(&c.bad_requests),
    );
    line(
        "takedown_platform_feedback_queued_total",
        "counter",
        "Feedback events queued.",
        ld(&c.feedback_queued),
    );
    line(
        "takedown_platform_sync_runs_total{result=\"ok\"}",
        "counter",
        "Sync runs.",
        ld(&c.sync_runs_ok),
    );
    line(
        "takedown_platform_sync_runs_failed_total",
        "counter",
        "Sync runs that failed.",
        ld(&c.sync_runs_failed),
    );
    line(
        "takedown_platform_sync_malformed_total",
        "counter",
        "Malformed sync records skipped by this process.",
        ld(&c.malformed),
    );
    line(
        "takedown_platform_sync_cursor",
        "gauge",
        "Sync cursor.",
        c.cursor.load(Ordering::Relaxed).to_string(),
    );
    line(
        "takedown_platform_list_entries",
        "gauge",
        "Items on the local list.",
        entries.to_string(),
    );
    line(
        "takedown_platform_index_hashes",
        "gauge",
        "Hashes in the PDQ index (pictures and video frames).",
        hashes.to_string(),
    );
    line(
        "takedown_platform_index_segments",
        "gauge",
        "Segments of the PDQ index.",
        segments.to_string(),
    );
    line(
        "takedown_platform_index_dead_rows",
        "gauge",
        "Deleted rows of the PDQ index not yet reclaimed.",
        dead.to_string(),
    );
    line(
        "takedown_platform_index_compactions_total",
        "counter",
        "Background compactions of the PDQ index.",
        ld(&c.compactions),
    );
    line(
        "takedown_platform_snapshots_saved_total",
        "counter",
        "Saves of the matcher to disk.",
        ld(&c.snapshots_saved),
    );
    let _ = writeln!(
        s,
        "# HELP takedown_platform_match_seconds Match latency.\n# TYPE takedown_platform_match_seconds histogram"
    );
    for (b, n) in st.latency.bounds.iter().zip(&st.latency.buckets) {
        let _ = writeln!(
            s,
            "takedown_platform_match_seconds_bucket{{le=\"{b}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    let count =
        c.requests_match.load(Ordering::Relaxed) + c.requests_fingerprints.load(Ordering::Relaxed);
    let _ = writeln!(
        s,
        "takedown_platform_match_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        s,
        "takedown_platform_match_seconds_sum {}",
        c.match_micros_sum.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(s, "takedown_platform_match_seconds_count {count}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s).into_response()
}

/// A running sidecar's router and background tasks.
pub struct Sidecar {
    shared: Arc<Shared>,
}

impl Sidecar {
    /// Opens the local list at `db` (twice: one connection syncs, one queues
    /// feedback) and builds the matcher from it.
    pub fn open(
        db: &std::path::Path,
        client: Option<Client>,
        config: SidecarConfig,
    ) -> Result<(Sidecar, Store)> {
        let sync_store = Store::open(db)?;
        let snapshot = crate::matcher::snapshot_path(db);
        let started = Instant::now();
        let (matcher, opened) = Matcher::open(&sync_store, &snapshot)?;
        let saved_at = match &opened {
            Opened::Loaded => {
                tracing::info!(
                    entries = matcher.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "loaded the saved matcher"
                );
                matcher.position()
            }
            Opened::Rebuilt(why) => {
                tracing::info!(
                    entries = matcher.len(),
                    ms = started.elapsed().as_millis() as u64,
                    reason = %why,
                    "rebuilt the matcher from the local list"
                );
                None
            }
        };
        let counters = Counters::default();
        counters
            .cursor
            .store(sync_store.cursor()?, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            matcher: RwLock::new(matcher),
            snapshot,
            saved_at: std::sync::Mutex::new(saved_at),
            feedback_store: tokio::sync::Mutex::new(Store::open(db)?),
            client,
            flush_wake: tokio::sync::Notify::new(),
            config,
            counters,
            latency: Latency::new(),
            decode_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
        });
        Ok((Sidecar { shared }, sync_store))
    }

    /// The HTTP routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/match", post(match_bytes))
            .route("/v1/match/fingerprints", post(match_fingerprints))
            .route("/v1/feedback", post(feedback))
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics))
            .layer(DefaultBodyLimit::max(self.shared.config.max_body_bytes))
            .with_state(self.shared.clone())
    }

    /// Background sync: applies each committed page to the matcher.
    pub async fn run_sync(
        &self,
        mut store: Store,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<()> {
        let (Some(client), Some(interval)) =
            (self.shared.client.clone(), self.shared.config.sync_interval)
        else {
            stop.await;
            return Ok(());
        };
        let sh = self.shared.clone();
        let sh2 = self.shared.clone();
        let mut on_page = move |ch: &[crate::store::Change], at: Position| {
            if let Ok(mut m) = sh.matcher.write() {
                m.apply_page(ch, at);
            }
        };
        sync_loop(
            &client,
            &mut store,
            &SyncOptions::default(),
            interval,
            &mut on_page,
            move |r| match r {
                Ok(rep) => {
                    sh2.counters.sync_runs_ok.fetch_add(1, Ordering::Relaxed);
                    sh2.counters
                        .malformed
                        .fetch_add(rep.malformed as u64, Ordering::Relaxed);
                    sh2.counters.cursor.store(rep.cursor, Ordering::Relaxed);
                    sh2.counters
                        .last_sync_ok_unix
                        .store(crate::store::now(), Ordering::Relaxed);
                }
                Err(_) => {
                    sh2.counters
                        .sync_runs_failed
                        .fetch_add(1, Ordering::Relaxed);
                }
            },
            stop,
        )
        .await
    }

    /// Compacts the index now, off the serving path: the live entries are copied
    /// under the read lock, the compacted index is built on a blocking thread
    /// while requests and sync pages go on, then the writes made meanwhile are
    /// replayed onto it and it is swapped in under the write lock. Returns `false`
    /// when another compaction was running or it failed.
    pub async fn compact_now(&self) -> bool {
        let sh = self.shared.clone();
        let r = tokio::task::spawn_blocking(move || {
            let job = sh.matcher.read().ok()?.begin_compaction()?;
            let built = job.build();
            let old = sh.matcher.write().ok()?.finish_compaction(built);
            // The old index is freed here, outside the lock.
            drop(old);
            Some(())
        })
        .await;
        match r {
            Ok(Some(())) => {
                self.shared
                    .counters
                    .compactions
                    .fetch_add(1, Ordering::Relaxed);
                true
            }
            Ok(None) => false,
            Err(_) => {
                if let Ok(m) = self.shared.matcher.read() {
                    m.abort_compaction();
                }
                tracing::error!("index compaction failed");
                false
            }
        }
    }

    /// Saves the matcher when its position moved since the last save (encoded
    /// under the read lock, written outside it). Returns whether it wrote.
    pub async fn save_now(&self) -> Result<bool> {
        if !self.shared.config.save_snapshot {
            return Ok(false);
        }
        let sh = self.shared.clone();
        let r = tokio::task::spawn_blocking(move || -> std::io::Result<bool> {
            let encoded = {
                let Ok(m) = sh.matcher.read() else {
                    return Ok(false);
                };
                let saved = sh.saved_at.lock().map(|g| *g).unwrap_or(None);
                if m.position().is_none() || m.position() == saved {
                    return Ok(false);
                }
                m.encode_snapshot()
            };
            let Some((at, bytes)) = encoded else {
                return Ok(false);
            };
            crate::matcher::write_snapshot(&sh.snapshot, &bytes)?;
            if let Ok(mut g) = sh.saved_at.lock() {
                *g = Some(at);
            }
            Ok(true)
        })
        .await
        .map_err(|_| Error::Io(std::io::Error::other("saving the matcher failed")))?;
        let wrote = r?;
        if wrote {
            self.shared
                .counters
                .snapshots_saved
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(wrote)
    }

    /// Background maintenance: every `maintenance_interval`, compacts the index
    /// when it pays and saves the matcher when its position moved; saves once more
    /// when `stop` resolves.
    pub async fn run_maintenance(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        if let Some(every) = self.shared.config.maintenance_interval {
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tokio::time::sleep(every) => {}
                }
                let needs = self
                    .shared
                    .matcher
                    .read()
                    .map(|m| m.needs_compaction())
                    .unwrap_or(false);
                if needs {
                    self.compact_now().await;
                }
                if let Err(e) = self.save_now().await {
                    tracing::warn!(error = %e, "could not save the matcher");
                }
            }
        } else {
            stop.await;
        }
        if let Err(e) = self.save_now().await {
            tracing::warn!(error = %e, "could not save the matcher");
        }
    }

    /// Background feedback sender: flushes when woken by a new event, and every
    /// minute while events are pending.
    pub async fn run_feedback(&self, stop: impl std::future::Future<Output = ()>) {
        let Some(client) = self.shared.client.clone() else {
            stop.await;
            return;
        };
        tokio::pin!(stop);
        loop {
            let r = {
                let mut store = self.shared.feedback_store.lock().await;
                crate::feedback::flush(&client, &mut store, &RetryPolicy::default()).await
            };
            if let Err(e) = r {
                tracing::warn!(error = %e, "feedback not sent yet");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = self.shared.flush_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        }
    }
}

/// Serves until `stop` resolves (with the background sync and feedback tasks).
pub async fn serve(
    listener: tokio::net::TcpListener,
    sidecar: Sidecar,
    sync_store: Store,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let app = sidecar.router();
    let sidecar = Arc::new(sidecar);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let s1 = sidecar.clone();
    let rx1 = rx.clone();
    let sync = tokio::spawn(async move {
        if let Err(e) = s1.run_sync(sync_store, wait(rx1)).await {
            tracing::error!(error = %e, "background sync stopped");
        }
    });
    let s2 = sidecar.clone();
    let rx2 = rx.clone();
    let fb = tokio::spawn(async move { s2.run_feedback(wait(rx2)).await });
    let s3 = sidecar.clone();
    let rx3 = rx.clone();
    let maintenance = tokio::spawn(async move { s3.run_maintenance(wait(rx3)).await });
    let r = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await;
    let _ = tx.send(true);
    let _ = sync.await;
    let _ = fb.await;
    let _ = maintenance.await;
    r.map_err(Error::Io)
}
