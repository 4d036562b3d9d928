//! Sidecar latency and a bounded soak, over real HTTP on loopback (prints tables).
//!
//! ```sh
//! cargo bench -p takedown-platform --bench sidecar                     # both parts, defaults
//! cargo bench -p takedown-platform --bench sidecar -- --stored 1000000 --requests 200
//! cargo bench -p takedown-platform --bench sidecar -- --only soak --soak-secs 3600
//! cargo bench -p takedown-platform --bench sidecar -- --only latency --stored 333334 [--no-cuts] [--no-bar-cut]
//! ```
//!
//! **Latency.** A local list of `--stored` pictures' PDQ hashes (half uniform,
//! half near-duplicate families, as real lists are), each with its two edge cuts
//! (ADR 0410; two more random hashes; `--no-cuts` leaves them out, as lists were
//! before, and `--no-bar-cut` turns the `bar-cut-20` query off) plus one listed 12 MP photo with its real cuts, in the kit's SQLite file; the sidecar opens it (the index build is timed) and serves on
//! loopback. A client posts, one request at a time, a re-encoded copy of the listed
//! 12 MP photo (must match), an unrelated 12 MP photo (must not) and a copy with a
//! 12 % caption bar (must match with the cuts listed, through `bar-cut-20`) to
//! `POST /v1/match` with query expansion on (the default), and fingerprints to
//! `POST /v1/match/fingerprints`. Client-side latency: p50, p99, max.
//!
//! **Soak.** The real service in-process (its own SQLite file) holding a base list
//! of `--soak-base` items; the sidecar syncs it every second in the background while
//! every second a new case of `--soak-churn` items is created and the oldest soak
//! case withdrawn (the list size stays flat), and a client sends matches without
//! pause (fingerprints, and every 25th request a 2 MP JPEG). The process's RSS
//! (service + sidecar + client) is printed at intervals; it must stay flat.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use takedown_fingerprint as fingerprint;
use takedown_platform::client::Client;
use takedown_platform::sidecar::{Sidecar, SidecarConfig, serve};
use takedown_platform::store::{Change, EdgeCutValue, Entry, PdqValue, Store};
use takedown_protocol::{CutEdge, EDGE_CUT_PERCENT, ItemKind};
use takedown_robustness::photos::{self, SizeRange};

struct Args {
    stored: usize,
    requests: usize,
    soak_secs: u64,
    soak_base: usize,
    soak_churn: usize,
    cuts: bool,
    bar_cut: bool,
    only: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        stored: 1_000_000,
        requests: 200,
        soak_secs: 180,
        soak_base: 20_000,
        soak_churn: 200,
        cuts: true,
        bar_cut: true,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut num = || it.next().and_then(|v| v.parse::<u64>().ok());
        match x.as_str() {
            "--stored" => a.stored = num().unwrap_or(a.stored as u64) as usize,
            "--requests" => a.requests = num().unwrap_or(a.requests as u64).max(10) as usize,
            "--soak-secs" => a.soak_secs = num().unwrap_or(a.soak_secs).clamp(10, 3600),
            "--soak-base" => a.soak_base = num().unwrap_or(a.soak_base as u64) as usize,
            "--soak-churn" => a.soak_churn = num().unwrap_or(a.soak_churn as u64) as usize,
            "--only" => a.only = it.next(),
            "--no-cuts" => a.cuts = false,
            "--no-bar-cut" => a.bar_cut = false,
            _ => {} // `--bench` and filters from cargo
        }
    }
    a
}

/// Resident set size of this process, MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// xorshift64*: deterministic and fast.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn hash(&mut self) -> [u8; 32] {
        let mut h = [0u8; 32];
        for c in h.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        h
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for x in b.iter_mut() {
            *x = self.next() as u8;
        }
        b
    }
}

/// `n` hashes: half uniform, half in families of 16 near-duplicates (each within
/// 4–40 bits of the family's centre).
fn list_hashes(n: usize, rng: &mut Rng) -> Vec<[u8; 32]> {
    let mut out = Vec::with_capacity(n);
    let mut centre = rng.hash();
    for i in 0..n {
        if i % 2 == 0 {
            out.push(rng.hash());
        } else {
            if i % 32 == 1 {
                centre = rng.hash();
            }
            let mut h = centre;
            let flips = 4 + (rng.next() % 37) as usize;
            for _ in 0..flips {
                let b = (rng.next() % 256) as usize;
                h[b / 8] ^= 1 << (b % 8);
            }
            out.push(h);
        }
    }
    out
}

fn http() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .expect("HTTP client")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Timings {
    name: String,
    ms: Vec<f64>,
}

impl Timings {
    fn row(&mut self) -> String {
        self.ms.sort_by(|a, b| a.total_cmp(b));
        let mean = self.ms.iter().sum::<f64>() / self.ms.len() as f64;
        format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            self.name,
            self.ms.len(),
            percentile(&self.ms, 0.50),
            percentile(&self.ms, 0.99),
            self.ms.last().copied().unwrap_or(f64::NAN),
            mean
        )
    }
}

async fn post_timed(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    json_body: bool,
) -> (f64, Value) {
    let t = Instant::now();
    let mut req = http.post(url).body(body);
    if json_body {
        req = req.header("content-type", "application/json");
    }
    let resp = req.send().await.expect("request");
    assert!(resp.status().is_success(), "{}", resp.status());
    let v: Value = resp.json().await.expect("JSON answer");
    (t.elapsed().as_secs_f64() * 1e3, v)
}

async fn latency(args: &Args) {
    println!(
        "## Sidecar latency, {} stored pictures{}\n",
        args.stored,
        if args.cuts {
            ", each with its two edge cuts"
        } else {
            ", no edge cuts"
        }
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("list.sqlite3");

    let t = Instant::now();
    let size = SizeRange {
        min_mp: 12.0,
        max_mp: 12.2,
    };
    let (listed, unrelated) = std::thread::scope(|s| {
        let a = s.spawn(|| photos::generate(12, size));
        let b = s.spawn(|| photos::generate(13, size));
        (a.join().expect("photo"), b.join().expect("photo"))
    });
    let copy = photos::encode_jpeg(&listed.pixels, 80);
    let fp = fingerprint::hashing::fingerprint_image_bytes(
        &listed.jpeg,
        &fingerprint::media::DecodeOptions::default(),
    )
    .expect("hash the listed photo");
    println!(
        "photos: {}x{} listed ({} KB as uploaded, JPEG q80), {}x{} unrelated ({} KB); made in {:.1} s",
        listed.pixels.width(),
        listed.pixels.height(),
        copy.len() / 1024,
        unrelated.pixels.width(),
        unrelated.pixels.height(),
        unrelated.jpeg.len() / 1024,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    {
        let mut store = Store::open(&db).expect("store");
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let hashes = list_hashes(args.stored, &mut rng);
        let mut cursor = 0i64;
        let mut id = 0i64;
        let mut page: Vec<Change> = Vec::with_capacity(20_000);
        let mut push = |store: &mut Store, page: &mut Vec<Change>, flush: bool| {
            if page.len() >= 20_000 || (flush && !page.is_empty()) {
                let next = cursor + page.len() as i64;
                store.apply_page(cursor, next, page, &[]).expect("page");
                cursor = next;
                page.clear();
            }
        };
        for h in hashes {
            id += 1;
            page.push(Change::Upsert(Entry {
                item_id: id,
                seq: id,
                kind: ItemKind::Image,
                md5: rng.bytes(),
                sha256: rng.bytes(),
                pdq: Some(PdqValue {
                    hash: h,
                    quality: 90,
                }),
                frames: vec![],
                edge_cuts: if args.cuts {
                    CutEdge::ALL
                        .iter()
                        .map(|&edge| EdgeCutValue {
                            edge,
                            percent: EDGE_CUT_PERCENT,
                            pdq: PdqValue {
                                hash: rng.hash(),
                                quality: 90,
                            },
                        })
                        .collect()
                } else {
                    vec![]
                },
            }));
            push(&mut store, &mut page, false);
        }
        id += 1;
        let mut md5 = [0u8; 16];
        let mut sha = [0u8; 32];
        hex::decode_to_slice(&fp.exact.md5, &mut md5).expect("md5");
        hex::decode_to_slice(&fp.exact.sha256, &mut sha).expect("sha");
        page.push(Change::Upsert(Entry {
            item_id: id,
            seq: id,
            kind: ItemKind::Image,
            md5,
            sha256: sha,
            pdq: Some(PdqValue {
                hash: fp.pdq.hash.0,
                quality: fp.pdq.quality,
            }),
            frames: vec![],
            edge_cuts: if args.cuts {
                fp.edge_cuts
                    .iter()
                    .map(|c| EdgeCutValue {
                        edge: c.edge,
                        percent: EDGE_CUT_PERCENT,
                        pdq: PdqValue {
                            hash: c.pdq.hash.0,
                            quality: c.pdq.quality,
                        },
                    })
                    .collect()
            } else {
                vec![]
            },
        }));
        push(&mut store, &mut page, true);
    }
    println!(
        "local list written (SQLite, pages of 20 000): {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let rss0 = rss_mb();
    let t = Instant::now();
    let mut config = SidecarConfig {
        sync_interval: None,
        ..SidecarConfig::default()
    };
    config.scan.expand.bar_cut = args.bar_cut;
    let (sidecar, store) = Sidecar::open(&db, None, config).expect("sidecar");
    let rebuild = t.elapsed().as_secs_f64();
    println!(
        "sidecar opened (matcher built from SQLite): {rebuild:.1} s, RSS {rss0:.0} MB → {:.0} MB",
        rss_mb()
    );
    let (base, stop_tx, server) = start_sidecar(sidecar, store).await;
    let http = http();
    let match_url = format!("{base}/v1/match");
    let fp_url = format!("{base}/v1/match/fingerprints");

    // Warm-up (connection, page cache, allocator).
    for _ in 0..3 {
        let (_, v) = post_timed(&http, &match_url, copy.clone(), false).await;
        assert_eq!(v["matched"], true, "the listed photo's copy must match");
        let (_, v) = post_timed(&http, &match_url, unrelated.jpeg.clone(), false).await;
        assert_eq!(v["matched"], false, "the unrelated photo must not match");
    }
    let mut matched = Timings {
        name: "12 MP JPEG, listed (matches)".into(),
        ms: vec![],
    };
    let mut not_matched = Timings {
        name: "12 MP JPEG, unrelated (no match)".into(),
        ms: vec![],
    };
    // A copy with a black caption bar over its bottom 12 %: with the edge cuts
    // listed it is found through `bar-cut-20` (one more PDQ pass and search).
    let captioned = takedown_robustness::transforms::caption_bar(&listed.pixels, 12, false);
    let mut with_bar = Timings {
        name: "12 MP JPEG, listed with a 12 % caption bar".into(),
        ms: vec![],
    };
    let mut bar_listed: Vec<String> = Vec::new();
    let mut server_ms = Vec::new();
    for i in 0..args.requests {
        let body = match i % 3 {
            0 => copy.clone(),
            1 => unrelated.jpeg.clone(),
            _ => captioned.clone(),
        };
        let (ms, v) = post_timed(&http, &match_url, body, false).await;
        if i % 3 != 2
            && let Some(s) = v["took_ms"].as_f64()
        {
            server_ms.push(s);
        }
        match i % 3 {
            0 => {
                assert_eq!(v["matched"], true);
                matched.ms.push(ms);
            }
            1 => {
                assert_eq!(v["matched"], false);
                not_matched.ms.push(ms);
            }
            _ => {
                if args.cuts {
                    assert_eq!(v["matched"], true, "{v}");
                }
                let hit = &v["hits"][0];
                bar_listed.push(format!(
                    "{} {}",
                    hit["variant"].as_str().unwrap_or("no match"),
                    hit["listed"].as_str().unwrap_or("")
                ));
                with_bar.ms.push(ms);
            }
        }
    }
    bar_listed.sort();
    bar_listed.dedup();
    let mut fps = Timings {
        name: "fingerprints only (PDQ + MD5 + SHA-256)".into(),
        ms: vec![],
    };
    let mut rng = Rng(99);
    for i in 0..args.requests * 5 {
        let pdq = if i % 2 == 0 {
            fp.pdq.hash.0
        } else {
            rng.hash()
        };
        let body = json!({"pdq": hex::encode(pdq), "quality": 90,
            "md5": hex::encode(rng.bytes::<16>()), "sha256": hex::encode(rng.bytes::<32>())});
        let (ms, _) = post_timed(&http, &fp_url, body.to_string().into_bytes(), true).await;
        fps.ms.push(ms);
    }
    server_ms.sort_by(|a, b| a.total_cmp(b));
    println!();
    println!(
        "| request (one at a time, HTTP on loopback) | n | p50 ms | p99 ms | max ms | mean ms |"
    );
    println!("|---|---|---|---|---|---|");
    println!("{}", matched.row());
    println!("{}", not_matched.row());
    println!("{}", with_bar.row());
    println!("{}", fps.row());
    println!(
        "\ncaptioned copy answered with: {bar_listed:?}\n12 MP requests without a bar, time inside the sidecar (`took_ms`): p50 {:.1} ms, p99 {:.1} ms; RSS now {:.0} MB\n",
        percentile(&server_ms, 0.5),
        percentile(&server_ms, 0.99),
        rss_mb()
    );
    let _ = stop_tx.send(());
    let _ = server.await;

    // The sidecar saved its matcher at shutdown (keyed to the list's position): the
    // next start loads it instead of rebuilding from SQLite.
    let snap = takedown_platform::matcher::snapshot_path(&db);
    let size_mb = std::fs::metadata(&snap).map_or(0.0, |m| m.len() as f64 / 1e6);
    let t = Instant::now();
    let store = Store::open(&db).expect("store");
    let (m, how) = takedown_platform::matcher::Matcher::open(&store, &snap).expect("open");
    println!(
        "restart: {:?} in {:.2} s ({} entries, saved file {size_mb:.0} MB); a rebuild from SQLite took {rebuild:.1} s",
        how,
        t.elapsed().as_secs_f64(),
        m.len()
    );
    println!(
        "index: {} hashes ({:.2} per picture), {:.1} MB heap, {:.1} bytes per stored hash\n",
        m.indexed_hashes(),
        m.indexed_hashes() as f64 / m.len().max(1) as f64,
        m.index_heap_bytes() as f64 / 1e6,
        m.index_heap_bytes() as f64 / m.indexed_hashes().max(1) as f64
    );
}

/// The service in-process, for the soak.
struct Service {
    url: String,
    store: takedown_server::store::Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

/// The sidecar serving on loopback: its base URL, the sender that stops it, and
/// its task.
async fn start_sidecar(
    sidecar: Sidecar,
    store: Store,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<takedown_platform::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, sidecar, store, async {
        let _ = stop_rx.await;
    }));
    (base, stop_tx, server)
}

async fn start_service() -> Service {
    use takedown_server::store::{DatabaseConfig, Store as ServiceStore};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ServiceStore::open(&DatabaseConfig::Sqlite {
        path: dir.path().join("service.sqlite3"),
        readers: 2,
    })
    .await
    .expect("service store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(takedown_server::serve(
        listener,
        store.clone(),
        takedown_server::Limits {
            rate_per_second: 0,
            ..takedown_server::Limits::default()
        },
        async {
            let _ = rx.await;
        },
    ));
    Service {
        url,
        store,
        stop: Some(tx),
        _dir: dir,
    }
}

/// Creates a case of `n` random pictures; returns (number, token).
/// A case of `n` random pictures, each with its two edge cuts when `cuts`
/// (as phones list them since ADR 0410), so the soak churns cut keys too.
async fn create_case(
    http: &reqwest::Client,
    url: &str,
    n: usize,
    cuts: bool,
    rng: &mut Rng,
) -> (String, String) {
    let items: Vec<Value> = (0..n)
        .map(|_| {
            let mut it = json!({"image": {"md5": hex::encode(rng.bytes::<16>()),
                "sha256": hex::encode(rng.bytes::<32>()),
                "pdq": hex::encode(rng.hash()), "quality": 90}});
            if cuts {
                it["image"]["edge_cuts"] = json!({
                    "top_20": {"pdq": hex::encode(rng.hash()), "quality": 90},
                    "bottom_20": {"pdq": hex::encode(rng.hash()), "quality": 90},
                });
            }
            it
        })
        .collect();
    let r = http
        .post(format!("{url}/v1/cases"))
        .json(&json!({
            "idempotency_key": format!("soak{:032x}", rng.next() as u128 | (u128::from(rng.next()) << 64)),
            "attestations": {"person_shown_was_under_18": true, "submitter": "person_shown"},
            "items": items,
        }))
        .send()
        .await
        .expect("create case");
    assert!(r.status().is_success(), "create case: {}", r.status());
    let v: Value = r.json().await.expect("JSON");
    (
        v["case_number"].as_str().unwrap_or_default().to_string(),
        v["case_token"].as_str().unwrap_or_default().to_string(),
    )
}

async fn soak(args: &Args) {
    println!(
        "## Soak: {} s, base list {} items, churn {} items/s in and out, edge cuts {}\n",
        args.soak_secs,
        args.soak_base,
        args.soak_churn,
        if args.cuts { "listed" } else { "not listed" }
    );
    let svc = start_service().await;
    let key = takedown_server::admin::create_platform(&svc.store, "soak")
        .await
        .expect("platform key");
    let http = http();
    let mut rng = Rng(0xabad_1dea);
    let mut left = args.soak_base;
    while left > 0 {
        let n = left.min(1000);
        create_case(&http, &svc.url, n, args.cuts, &mut rng).await;
        left -= n;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let client = Client::new(&svc.url, &key, Duration::from_secs(30)).expect("client");
    let config = SidecarConfig {
        sync_interval: Some(Duration::from_secs(1)),
        ..SidecarConfig::default()
    };
    let (sidecar, store) =
        Sidecar::open(&dir.path().join("list.sqlite3"), Some(client), config).expect("sidecar");
    let (base, stop_tx, server) = start_sidecar(sidecar, store).await;
    let health = |http: reqwest::Client, base: String| async move {
        let v: Value = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("health")
            .json()
            .await
            .expect("JSON");
        v
    };
    let t = Instant::now();
    loop {
        let v = health(http.clone(), base.clone()).await;
        if v["entries"].as_u64() == Some(args.soak_base as u64) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "first sync too slow"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "first sync of {} items: {:.1} s",
        args.soak_base,
        t.elapsed().as_secs_f64()
    );

    // Matches without pause.
    let stop_matching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let small = photos::generate(
        21,
        SizeRange {
            min_mp: 2.0,
            max_mp: 2.0,
        },
    )
    .jpeg;
    let matcher_task = {
        let (http, base, stop, done) = (
            http.clone(),
            base.clone(),
            stop_matching.clone(),
            done.clone(),
        );
        tokio::spawn(async move {
            let mut rng = Rng(7);
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let r = if i.is_multiple_of(25) {
                    http.post(format!("{base}/v1/match"))
                        .body(small.clone())
                        .send()
                        .await
                } else {
                    http.post(format!("{base}/v1/match/fingerprints"))
                        .json(&json!({"pdq": hex::encode(rng.hash()), "quality": 90}))
                        .send()
                        .await
                };
                if let Ok(r) = r {
                    assert!(r.status().is_success(), "match: {}", r.status());
                    let _ = r.bytes().await;
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
    };

    let interval = Duration::from_secs((args.soak_secs / 12).clamp(5, 300));
    println!("\n| t s | RSS MB | entries | cursor | matches done |");
    println!("|---|---|---|---|---|");
    let mut open_cases: std::collections::VecDeque<(String, String)> = Default::default();
    let start = Instant::now();
    let mut next_print = Duration::ZERO;
    let mut samples: Vec<f64> = Vec::new();
    // One row of the soak table; returns the RSS it printed.
    let sample_row = |http: reqwest::Client, base: String| {
        let done = done.clone();
        async move {
            let v = health(http, base).await;
            let rss = rss_mb();
            println!(
                "| {:.0} | {:.1} | {} | {} | {} |",
                start.elapsed().as_secs_f64(),
                rss,
                v["entries"],
                v["cursor"],
                done.load(std::sync::atomic::Ordering::Relaxed)
            );
            rss
        }
    };
    while start.elapsed() < Duration::from_secs(args.soak_secs) {
        let tick = Instant::now();
        open_cases
            .push_back(create_case(&http, &svc.url, args.soak_churn, args.cuts, &mut rng).await);
        if open_cases.len() > 5
            && let Some((number, token)) = open_cases.pop_front()
        {
            let r = http
                .post(format!("{}/v1/cases/{number}/withdraw", svc.url))
                .bearer_auth(&token)
                .send()
                .await
                .expect("withdraw");
            assert!(r.status().is_success(), "withdraw: {}", r.status());
        }
        if start.elapsed() >= next_print {
            samples.push(sample_row(http.clone(), base.clone()).await);
            next_print += interval;
        }
        if let Some(rest) = Duration::from_secs(1).checked_sub(tick.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    stop_matching.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = matcher_task.await;
    samples.push(sample_row(http.clone(), base.clone()).await);
    // Flat: the second half's peak within 10 % of the first half's peak (after
    // the first sample, which is taken before the allocator has settled).
    let half = samples.len() / 2;
    let first = samples[1.min(samples.len() - 1)..half.max(2).min(samples.len())]
        .iter()
        .copied()
        .fold(0.0, f64::max);
    let second = samples[half..].iter().copied().fold(0.0, f64::max);
    println!(
        "\nRSS peak first half {first:.1} MB, second half {second:.1} MB: {}",
        if second <= first * 1.10 {
            "flat"
        } else {
            "GROWING"
        }
    );
    let _ = stop_tx.send(());
    let _ = server.await;
    drop(svc.stop);
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if args.only.as_deref() != Some("soak") {
            latency(&args).await;
        }
        if args.only.as_deref() != Some("latency") {
            soak(&args).await;
        }
    });
}
