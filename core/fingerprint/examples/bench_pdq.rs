//! PDQ speed and memory bench (see `scripts/bench-pdq.sh`, which runs it side by side
//! with the Pillow + `pdqhash` reference and prints the table).
//!
//! `bench_pdq time FILE...` prints one tab-separated line per file and mode:
//! `file  mode  median_ms  min_ms  runs`.
//! `bench_pdq peak FILE` hashes once and prints the process's peak RSS in MB.

use std::time::{Duration, Instant};
use takedown_fingerprint::hashing::{fingerprint_image_bytes, pdq};
use takedown_fingerprint::media::{self, DecodeOptions};

fn time<F: FnMut()>(mut f: F) -> (f64, f64, usize) {
    f(); // warm up
    let mut samples = vec![];
    let start = Instant::now();
    while samples.len() < 5 || (start.elapsed() < Duration::from_secs(3) && samples.len() < 50) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], samples[0], samples.len())
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("peak") => {
            let full = args.iter().any(|a| a == "--full");
            let file = args
                .iter()
                .skip(1)
                .find(|a| !a.starts_with("--"))
                .expect("file");
            let opts = if full {
                DecodeOptions::full_resolution()
            } else {
                DecodeOptions::default()
            };
            let before = peak_rss_mb();
            let bytes = std::fs::read(file).expect("read");
            let f = fingerprint_image_bytes(&bytes, &opts).expect("hash");
            println!(
                "{:.1}\t{:.1}\t{}\t{}",
                peak_rss_mb(),
                before,
                f.pdq.hash,
                f.pdq.quality
            );
        }
        Some("time") => {
            for file in &args[1..] {
                let bytes = std::fs::read(file).expect("read");
                let (m, lo, n) = time(|| {
                    fingerprint_image_bytes(&bytes, &DecodeOptions::default()).expect("hash");
                });
                println!("{file}\tdecode+hash (scaled)\t{m:.2}\t{lo:.2}\t{n}");
                let (m, lo, n) = time(|| {
                    fingerprint_image_bytes(&bytes, &DecodeOptions::full_resolution())
                        .expect("hash");
                });
                println!("{file}\tdecode+hash (full)\t{m:.2}\t{lo:.2}\t{n}");
                let d = media::decode(
                    &bytes,
                    &DecodeOptions {
                        apply_orientation: false,
                        ..DecodeOptions::full_resolution()
                    },
                )
                .expect("decode");
                let (m, lo, n) = time(|| {
                    std::hint::black_box(pdq::pdq_from_rgb(
                        &d.rgb.data,
                        d.rgb.width as usize,
                        d.rgb.height as usize,
                    ));
                });
                println!("{file}\thash only (full-res pixels)\t{m:.2}\t{lo:.2}\t{n}");
            }
        }
        _ => eprintln!("usage: bench_pdq time FILE... | bench_pdq peak [--full] FILE"),
    }
}
