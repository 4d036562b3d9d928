//! PDQ speed and memory bench (see `scripts/bench-pdq.sh`, which runs it side by side
//! with the Pillow + `pdqhash` reference and prints the table).
//!
//! `bench_pdq time FILE...` prints one tab-separated line per file and mode:
//! `file  mode  median_ms  min_ms  runs`.
//! `bench_pdq peak FILE` hashes once (default path) and prints the process's peak RSS
//! in MB.
//!
//! Modes: `decode+hash (default)` is `fingerprint_image_bytes` with default options
//! (JPEG rows streamed from libjpeg-turbo into PDQ, plus MD5 and SHA-256 of the file);
//! `decode only` reads every row and throws it away; `hash only` is PDQ of the
//! already decoded RGB pixels. The edge cuts' cost: `decode+hash, no cuts` is the
//! default path without them (rows streamed into one PDQ hasher, plus MD5 and
//! SHA-256: what the default did before cuts existed); `hash + edge cuts` is
//! `hash only` plus `cuts::edge_cuts_from_rgb` of the same pixels.

use std::time::{Duration, Instant};
use takedown_fingerprint::hashing::{cuts, exact, fingerprint_image_bytes, pdq};
use takedown_fingerprint::media::{self, DecodeOptions, jpeg};

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
            let file = args
                .iter()
                .skip(1)
                .find(|a| !a.starts_with("--"))
                .expect("file");
            let before = peak_rss_mb();
            let bytes = std::fs::read(file).expect("read");
            let f = fingerprint_image_bytes(&bytes, &DecodeOptions::default()).expect("hash");
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
                let opts = DecodeOptions::default();
                let (m, lo, n) = time(|| {
                    fingerprint_image_bytes(&bytes, &opts).expect("hash");
                });
                println!("{file}\tdecode+hash (default)\t{m:.2}\t{lo:.2}\t{n}");
                let (m, lo, n) = time(|| {
                    let (_, h) = jpeg::stream_rows(
                        &bytes,
                        &opts.limits,
                        |info| {
                            Ok(pdq::PdqHasher::new(
                                info.width as usize,
                                info.height as usize,
                            ))
                        },
                        |h, row| h.push_rgb_row(row, 3),
                    )
                    .expect("decode");
                    std::hint::black_box((h.finish(), exact::hash_bytes(&bytes)));
                });
                println!("{file}\tdecode+hash, no cuts\t{m:.2}\t{lo:.2}\t{n}");
                let (m, lo, n) = time(|| {
                    let mut sum = 0u64;
                    jpeg::stream_rows(
                        &bytes,
                        &opts.limits,
                        |_| Ok(()),
                        |_, row| {
                            sum += row[0] as u64;
                        },
                    )
                    .expect("decode");
                    std::hint::black_box(sum);
                });
                println!("{file}\tdecode only\t{m:.2}\t{lo:.2}\t{n}");
                let d = media::decode(
                    &bytes,
                    &DecodeOptions {
                        apply_orientation: false,
                        ..DecodeOptions::default()
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
                println!("{file}\thash only\t{m:.2}\t{lo:.2}\t{n}");
                let (m, lo, n) = time(|| {
                    let (w, h) = (d.rgb.width as usize, d.rgb.height as usize);
                    std::hint::black_box((
                        pdq::pdq_from_rgb(&d.rgb.data, w, h),
                        cuts::edge_cuts_from_rgb(&d.rgb.data, w, h),
                    ));
                });
                println!("{file}\thash + edge cuts, two passes\t{m:.2}\t{lo:.2}\t{n}");
                // What decoded pictures and host RGBA now run: one pass, each
                // row's luma once for the picture and its cuts.
                let (m, lo, n) = time(|| {
                    let (w, h) = (d.rgb.width as usize, d.rgb.height as usize);
                    std::hint::black_box(cuts::digest_and_cuts_from_pixels(
                        &d.rgb.data,
                        w,
                        h,
                        3,
                        w * 3,
                    ));
                });
                println!("{file}\thash + edge cuts, one pass\t{m:.2}\t{lo:.2}\t{n}");
            }
        }
        _ => eprintln!("usage: bench_pdq time FILE... | bench_pdq peak FILE"),
    }
}
