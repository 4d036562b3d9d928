//! Benchmark of the phone core API (issue 4):
//!
//! 1. open the core and list a history of 10 000 items (goal < 50 ms);
//! 2. hash 100 phone-sized photos through `Takedown::hash_selection` with a
//!    progress callback, against the same files through the `takedown hash` CLI
//!    (when built: `target/release/takedown`, or `TAKEDOWN_CLI`) and through the
//!    plain core functions on one thread per core (the CLI's method).
//!
//! `cargo run --release -p takedown-ffi --example bench_app [-- --photos 100 --distinct 10]`

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use takedown_app::eligibility::{AgeWhenMade, EligibilityAnswers, SubmitterRole};
use takedown_app::outbox::SubmitItem;
use takedown_app::selection::{ItemFingerprint, MediaKind};
use takedown_core::{HashProgress, MediaInput, Takedown, file_key_provider};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn hex(n: usize, seed: u64) -> String {
    let mut s = String::with_capacity(n);
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    while s.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{x:016x}"));
    }
    s.truncate(n);
    s
}

struct Count(AtomicU32);
impl HashProgress for Count {
    fn on_progress(&self, done: u32, _total: u32) {
        self.0.store(done, Ordering::Relaxed);
    }
}

fn open(dir: &Path) -> Arc<Takedown> {
    Takedown::open(
        dir.join("data").display().to_string(),
        "https://service.invalid".into(),
        file_key_provider(dir.join("key").display().to_string()),
    )
    .expect("open")
}

fn bench_history() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000;
    {
        let td = open(dir.path());
        let items: Vec<SubmitItem> = (0..n)
            .map(|i| SubmitItem {
                fingerprint: ItemFingerprint {
                    kind: MediaKind::Image,
                    md5: takedown_protocol::Md5::from_hex(&hex(32, i as u64)).unwrap(),
                    sha256: takedown_protocol::Sha256::from_hex(&hex(64, i as u64 + 1)).unwrap(),
                    pdq: takedown_protocol::Pdq::from_hex(&hex(64, i as u64 + 2)),
                    quality: takedown_protocol::Quality::new(80),
                    frames: Vec::new(),
                    // Two edge cuts, as every picture hashed now has.
                    edge_cuts: takedown_protocol::CutEdge::ALL
                        .iter()
                        .enumerate()
                        .map(|(k, &edge)| takedown_protocol::EdgeCut {
                            edge,
                            percent: takedown_protocol::EDGE_CUT_PERCENT,
                            pdq: takedown_protocol::Pdq::from_hex(&hex(
                                64,
                                i as u64 + 3 + k as u64,
                            ))
                            .unwrap(),
                            quality: takedown_protocol::Quality::new(80).unwrap(),
                        })
                        .collect(),
                    low_quality: false,
                },
                // Every tenth item carries a label (opened on listing).
                label: (i % 10 == 0).then(|| format!("label {i}")),
            })
            .collect();
        let t = Instant::now();
        td.core()
            .enqueue_case(
                &EligibilityAnswers {
                    age_when_made: AgeWhenMade::Under18,
                    submitter: SubmitterRole::PersonShown,
                },
                &items,
            )
            .unwrap();
        println!(
            "history: wrote a case of {n} items (+ outbox) in {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let mut open_only = Vec::new();
    let mut open_list = Vec::new();
    let mut items_only = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let td = open(dir.path());
        let opened = t.elapsed();
        let items = td.list_items(None).unwrap();
        let listed = t.elapsed();
        let cases = td.list_cases().unwrap();
        let total = t.elapsed();
        assert_eq!(items.len(), n);
        assert_eq!(cases.len(), 1);
        open_only.push(opened);
        items_only.push(listed - opened);
        open_list.push(total);
    }
    println!(
        "history: open {:.1} ms, list {n} items {:.1} ms, open + list items + list cases {:.1} ms (median of 7; goal < 50 ms)",
        median(open_only).as_secs_f64() * 1e3,
        median(items_only).as_secs_f64() * 1e3,
        median(open_list).as_secs_f64() * 1e3
    );
}

fn make_photos(dir: &Path, photos: usize, distinct: usize) -> Vec<std::path::PathBuf> {
    // 4032×3024 (12 MP) JPEGs at quality 90, like a phone camera's.
    let (w, h) = (4032u32, 3024u32);
    let mut encoded = Vec::new();
    for s in 0..distinct {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let fx = (s as f32 + 1.0) * 0.003;
            image::Rgb([
                (128.0 + 120.0 * (x as f32 * fx).sin() * (y as f32 * 0.002).cos()) as u8,
                ((x / 97 + y / 89 + s as u32 * 31) % 256) as u8,
                (128.0 + 100.0 * ((x + y) as f32 * 0.001 * (s as f32 + 2.0)).sin()) as u8,
            ])
        });
        let mut buf = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90)
            .encode_image(&img)
            .unwrap();
        encoded.push(buf);
    }
    (0..photos)
        .map(|i| {
            let p = dir.join(format!("IMG_{i:04}.jpg"));
            std::fs::write(&p, &encoded[i % distinct]).unwrap();
            p
        })
        .collect()
}

fn bench_hashing(photos: usize, distinct: usize) {
    let dir = tempfile::tempdir().unwrap();
    let pics = dir.path().join("pics");
    std::fs::create_dir_all(&pics).unwrap();
    let t = Instant::now();
    let files = make_photos(&pics, photos, distinct);
    let bytes: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    println!(
        "photos: {photos} × 4032×3024 JPEG ({:.1} MB each on average), made in {:.1} s",
        bytes as f64 / photos as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    // Through the API, with progress.
    let td = open(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let progress = Arc::new(Count(AtomicU32::new(0)));
    let inputs: Vec<MediaInput> = files
        .iter()
        .map(|f| MediaInput::ImageFile {
            path: f.display().to_string(),
        })
        .collect();
    let t = Instant::now();
    let res = rt
        .block_on(td.hash_selection(inputs, Some(progress.clone()), None))
        .unwrap();
    let api = t.elapsed();
    assert!(res.iter().all(|r| r.fingerprint.is_some()));
    assert_eq!(progress.0.load(Ordering::Relaxed) as usize, photos);
    println!(
        "hash via API (hash_selection + progress): {:.2} photos/s ({:.0} ms each, {cores} cores)",
        photos as f64 / api.as_secs_f64(),
        api.as_secs_f64() * 1e3 / photos as f64
    );

    // The core functions on one thread per core (what the CLI does).
    let t = Instant::now();
    let next = AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(f) = files.get(i) else { return };
                    takedown_fingerprint::hashing::fingerprint_image_file(f, &Default::default())
                        .unwrap();
                }
            });
        }
    });
    let direct = t.elapsed();
    println!(
        "hash via core functions ({cores} threads): {:.2} photos/s",
        photos as f64 / direct.as_secs_f64()
    );

    // The CLI binary, when built.
    let cli = std::env::var("TAKEDOWN_CLI").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/release/takedown")
            .display()
            .to_string()
    });
    if Path::new(&cli).is_file() {
        let t = Instant::now();
        let out = std::process::Command::new(&cli)
            .arg("hash")
            .arg("--json")
            .arg(&pics)
            .output()
            .expect("run the CLI");
        let took = t.elapsed();
        assert!(out.status.success(), "CLI failed");
        println!(
            "hash via CLI (`takedown hash --json`, process included): {:.2} photos/s; API/CLI = {:.2}",
            photos as f64 / took.as_secs_f64(),
            took.as_secs_f64() / api.as_secs_f64()
        );
    } else {
        println!("hash via CLI: skipped ({cli} not built; cargo build --release -p takedown-cli)");
    }
}

fn main() {
    bench_history();
    bench_hashing(arg("--photos", 100), arg("--distinct", 10).max(1));
}
