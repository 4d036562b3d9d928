//! Load generator for the hash-list service, on loopback, both backends side
//! by side. Not part of the test suite. Run:
//!
//! ```text
//! source scripts/pg-start.sh   # optional: adds the PostgreSQL column
//! cargo bench -p takedown-server --bench load
//! ```
//!
//! Environment: `BENCH_LIST_SIZE` (default 1000000), `BENCH_CREATES` (default
//! 20000), `BENCH_READS` (default 20000), `BENCH_CONCURRENCY` (default 32).
//! Every loop is bounded; the bench stops by itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use takedown_protocol::SyncPage;
use takedown_server::Limits;
use takedown_server::store::{DatabaseConfig, Store};

#[derive(Clone)]
struct Http {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    fn new(addr: SocketAddr) -> Self {
        Http {
            addr,
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(256)
                .build_http(),
        }
    }
    async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Bytes) {
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        if let Some(a) = auth {
            b = b.header("authorization", format!("Bearer {a}"));
        }
        if !body.is_empty() {
            b = b.header("content-type", "application/json");
        }
        let resp = self
            .client
            .request(b.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.into_body().collect().await.unwrap().to_bytes())
    }
}

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn rand_hex(n: usize) -> String {
    hex::encode((0..n).map(|_| rand::random::<u8>()).collect::<Vec<u8>>())
}

fn image() -> Value {
    json!({"image": {"md5": rand_hex(16), "sha256": rand_hex(32), "pdq": rand_hex(32), "quality": 90}})
}

fn case_body(n: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "idempotency_key": rand_hex(16),
        "attestations": {"person_shown_was_under_18": true, "submitter": "person_shown"},
        "items": (0..n).map(|_| image()).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Runs `total` operations with `conc` workers; returns ops/s.
async fn run_parallel<F, Fut>(total: usize, conc: usize, f: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (f, next) = (f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                f(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / t.elapsed().as_secs_f64()
}

async fn sync_from(http: &Http, key: &str, mut cursor: i64) -> (usize, i64, Duration, Duration) {
    let t = Instant::now();
    let mut n = 0;
    let mut parse = Duration::ZERO;
    loop {
        let (st, body) = http
            .send(
                "GET",
                &format!("/v1/sync?cursor={cursor}&limit=50000"),
                Some(key),
                vec![],
            )
            .await;
        assert_eq!(st, 200);
        let p0 = Instant::now();
        let page: SyncPage = serde_json::from_slice(&body).expect("sync page");
        parse += p0.elapsed();
        n += page.entries.len();
        cursor = page.next_cursor;
        if !page.has_more {
            return (n, cursor, t.elapsed(), parse);
        }
    }
}

struct Row {
    backend: &'static str,
    creates_per_s: f64,
    reads_per_s: f64,
    seed: Duration,
    full_sync: Duration,
    full_entries: usize,
    full_parse: Duration,
    delta_1k: Duration,
    delta_10k: Duration,
    bytes_per_entry: usize,
}

async fn bench(backend: &'static str, cfg: DatabaseConfig) -> Row {
    let list_size = env_usize("BENCH_LIST_SIZE", 1_000_000);
    let creates = env_usize("BENCH_CREATES", 20_000);
    let reads = env_usize("BENCH_READS", 20_000);
    let conc = env_usize("BENCH_CONCURRENCY", 32);

    let store = Store::open(&cfg).await.expect("open store");
    let key = takedown_server::admin::create_platform(&store, "bench")
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let limits = Limits {
        rate_per_second: 0,
        ..Limits::default()
    };
    let server = tokio::spawn(takedown_server::serve(listener, store, limits, async {
        let _ = stop_rx.await;
    }));
    let http = Http::new(addr);

    // 1. Case creations (one picture each), `conc` clients.
    let cases = Arc::new(std::sync::Mutex::new(Vec::with_capacity(creates)));
    let (h, c) = (http.clone(), cases.clone());
    let creates_per_s = run_parallel(creates, conc, move |_| {
        let (h, c) = (h.clone(), c.clone());
        async move {
            let (st, body) = h.send("POST", "/v1/cases", None, case_body(1)).await;
            assert_eq!(st, 201);
            let v: Value = serde_json::from_slice(&body).unwrap();
            c.lock().unwrap().push((
                v["case_number"].as_str().unwrap().to_string(),
                v["case_token"].as_str().unwrap().to_string(),
            ));
        }
    })
    .await;
    eprintln!("[{backend}] creates: {creates_per_s:.0}/s");

    // 2. Status reads.
    let cases: Arc<Vec<(String, String)>> = Arc::new(cases.lock().unwrap().clone());
    let (h, cases_r) = (http.clone(), cases.clone());
    let reads_per_s = run_parallel(reads, conc, move |i| {
        let (h, cases) = (h.clone(), cases_r.clone());
        async move {
            let (n, t) = &cases[i % cases.len()];
            let (st, _) = h
                .send("GET", &format!("/v1/cases/{n}"), Some(t), vec![])
                .await;
            assert_eq!(st, 200);
        }
    })
    .await;
    eprintln!("[{backend}] status reads: {reads_per_s:.0}/s");

    // 3. Seed the list to `list_size` items (cases of 1000 pictures).
    let t = Instant::now();
    let missing = list_size.saturating_sub(creates);
    let batches = missing.div_ceil(1000);
    let h = http.clone();
    run_parallel(batches, 4, move |i| {
        let h = h.clone();
        let n = if i + 1 == batches && !missing.is_multiple_of(1000) {
            missing % 1000
        } else {
            1000
        };
        async move {
            let (st, _) = h.send("POST", "/v1/cases", None, case_body(n)).await;
            assert_eq!(st, 201);
        }
    })
    .await;
    let seed = t.elapsed();
    eprintln!("[{backend}] seeded {list_size} items in {seed:.1?}");

    // 4. Full sync from cursor 0.
    let (full_entries, cursor, full_sync, full_parse) = sync_from(&http, &key, 0).await;
    assert_eq!(full_entries, list_size.max(creates));
    let (_, one_page) = http
        .send("GET", "/v1/sync?cursor=0&limit=10000", Some(&key), vec![])
        .await;
    let bytes_per_entry = one_page.len() / 10_000;
    eprintln!("[{backend}] full sync {full_entries} in {full_sync:.2?}");

    // 5. Deltas: 1000 and 10000 changes (half additions, half withdrawals).
    let mut deltas = Vec::new();
    let mut cursor = cursor;
    for changes in [1000usize, 10_000] {
        let adds = changes / 2;
        for _ in 0..adds / 500 {
            let (st, _) = http.send("POST", "/v1/cases", None, case_body(500)).await;
            assert_eq!(st, 201);
        }
        // Withdraw `changes / 2` single-picture cases from step 1.
        let start = if changes == 1000 { 0 } else { 500 };
        let h = http.clone();
        let cs = cases_for_withdraw(&cases, start, changes / 2);
        run_parallel(cs.len(), conc, move |i| {
            let (h, cs) = (h.clone(), cs.clone());
            async move {
                let (n, t) = &cs[i];
                let (st, _) = h
                    .send("POST", &format!("/v1/cases/{n}/withdraw"), Some(t), vec![])
                    .await;
                assert_eq!(st, 200);
            }
        })
        .await;
        let (n, c, took, _) = sync_from(&http, &key, cursor).await;
        assert_eq!(n, changes, "delta size");
        cursor = c;
        deltas.push(took);
        eprintln!("[{backend}] delta {changes} in {took:.2?}");
    }
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
    Row {
        backend,
        creates_per_s,
        reads_per_s,
        seed,
        full_sync,
        full_entries,
        full_parse,
        delta_1k: deltas[0],
        delta_10k: deltas[1],
        bytes_per_entry,
    }
}

fn cases_for_withdraw(
    cases: &Arc<Vec<(String, String)>>,
    start: usize,
    n: usize,
) -> Arc<Vec<(String, String)>> {
    Arc::new(cases.iter().skip(start).take(n).cloned().collect())
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut rows = Vec::new();
        let dir = tempfile::tempdir().unwrap();
        rows.push(
            bench(
                "sqlite",
                DatabaseConfig::Sqlite {
                    path: dir.path().join("bench.sqlite3"),
                    readers: 4,
                },
            )
            .await,
        );
        match std::env::var("TAKEDOWN_TEST_POSTGRES_URL") {
            Ok(base) if !base.is_empty() => {
                let schema = format!("bench_{}", rand_hex(4));
                let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                rows.push(
                    bench(
                        "postgres",
                        DatabaseConfig::Postgres {
                            url,
                            pool_size: 16,
                            commit_jitter: None,
                        },
                    )
                    .await,
                );
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                    .await;
            }
            _ => eprintln!("PostgreSQL column skipped: TAKEDOWN_TEST_POSTGRES_URL is not set"),
        }
        let conc = env_usize("BENCH_CONCURRENCY", 32);
        println!();
        print!("| measure (loopback, {conc} clients) |");
        for r in &rows {
            print!(" {} |", r.backend);
        }
        println!();
        print!("|---|");
        for _ in &rows {
            print!("---|");
        }
        println!();
        let line = |name: &str, f: &dyn Fn(&Row) -> String| {
            print!("| {name} |");
            for r in &rows {
                print!(" {} |", f(r));
            }
            println!();
        };
        line("case creations/s (1 picture each)", &|r| {
            format!("{:.0}", r.creates_per_s)
        });
        line("status reads/s", &|r| format!("{:.0}", r.reads_per_s));
        line("seed list via API (cases of 1000)", &|r| {
            format!("{:.1} s", r.seed.as_secs_f64())
        });
        line("full sync from cursor 0", &|r| {
            format!(
                "{:.2} s ({} entries)",
                r.full_sync.as_secs_f64(),
                r.full_entries
            )
        });
        line("  of which client JSON decode", &|r| {
            format!("{:.2} s", r.full_parse.as_secs_f64())
        });
        line("  wire bytes per entry", &|r| {
            format!("{}", r.bytes_per_entry)
        });
        line("delta sync, 1 000 changes", &|r| {
            format!("{:.1} ms", r.delta_1k.as_secs_f64() * 1e3)
        });
        line("delta sync, 10 000 changes", &|r| {
            format!("{:.1} ms", r.delta_10k.as_secs_f64() * 1e3)
        });
    });
}
