//! vPDQ against Meta's reference (`../shared/conformance/vpdq`): every frame of each
//! sample video hashed at its own size, compared line by line with the reference's
//! `sample-hashes/*.txt`.
mod vpdq_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use takedown_fingerprint::hashing::pdq::{MIN_QUALITY, PdqHash};
use takedown_fingerprint::video::VpdqFrame;
use takedown_fingerprint::video::VpdqOptions;
use vpdq_common::{hash_file, read_sample_hashes, setup};

/// Our every-frame hashes of the sample videos, computed once for both tests.
fn ours(dir: &Path) -> &'static Vec<(PathBuf, Vec<VpdqFrame>)> {
    static OURS: OnceLock<Vec<(PathBuf, Vec<VpdqFrame>)>> = OnceLock::new();
    OURS.get_or_init(|| {
        let mut videos: Vec<_> = std::fs::read_dir(dir.join("sample-videos"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .collect();
        videos.sort();
        videos
            .into_iter()
            .map(|v| {
                let frames = hash_file(&v, &VpdqOptions::every_frame());
                (v, frames)
            })
            .collect()
    })
}

/// On reference frames of quality ≥ 50: mean distance ≤ 2 bits and ≥ 95 % within 10
/// bits; every frame present, same numbering and timestamps.
#[test]
fn per_frame_hashes_match_reference() {
    let Some(dir) = setup("per_frame_hashes_match_reference") else {
        return;
    };
    let videos = ours(&dir);
    assert!(videos.len() >= 8, "expected the 8 sample videos");

    let mut all: Vec<u32> = vec![];
    let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
    let mut report = vec![];
    for (video, ours) in videos {
        let name = video.file_stem().unwrap().to_string_lossy().into_owned();
        let reference = read_sample_hashes(&dir.join(format!("sample-hashes/{name}.txt")));
        assert_eq!(
            ours.len(),
            reference.len(),
            "{name}: frame count differs from the reference"
        );
        let mut d_video = vec![];
        let mut quality_diff = 0u32;
        for (o, r) in ours.iter().zip(&reference) {
            assert_eq!(o.number, r.frame, "{name}: frame numbering");
            assert!(
                (o.t - r.t).abs() < 0.0006,
                "{name}: timestamp of frame {}",
                r.frame
            );
            quality_diff =
                quality_diff.max((o.pdq.quality as i32 - r.quality as i32).unsigned_abs());
            if r.quality < MIN_QUALITY {
                continue;
            }
            let d = o.pdq.hash.distance(&PdqHash::from_hex(&r.hash).unwrap());
            d_video.push(d);
            let bucket = match d {
                0 => "a: 0",
                1..=2 => "b: 1-2",
                3..=5 => "c: 3-5",
                6..=10 => "d: 6-10",
                11..=31 => "e: 11-31",
                _ => "f: >31",
            };
            *histogram.entry(bucket).or_default() += 1;
        }
        let mean = d_video.iter().sum::<u32>() as f64 / d_video.len().max(1) as f64;
        let exact = d_video.iter().filter(|&&d| d == 0).count();
        report.push(format!(
            "{name:34} frames {:4}  q>=50 {:4}  exact {:4}  mean {mean:.2}  max {:3}  max quality diff {quality_diff}",
            ours.len(),
            d_video.len(),
            exact,
            d_video.iter().max().copied().unwrap_or(0),
        ));
        all.extend(d_video);
    }
    all.sort_unstable();
    let n = all.len();
    let mean = all.iter().sum::<u32>() as f64 / n as f64;
    let within10 = all.iter().filter(|&&d| d <= 10).count() as f64 * 100.0 / n as f64;
    let p = |q: f64| all[((n as f64 * q) as usize).min(n - 1)];
    eprintln!("vPDQ per-frame distance to the reference (frames of reference quality >= 50):");
    for line in &report {
        eprintln!("  {line}");
    }
    eprintln!(
        "  all: {n} frames, mean {mean:.3}, median {}, p95 {}, p99 {}, max {}, within 10 bits {within10:.2} %",
        p(0.5),
        p(0.95),
        p(0.99),
        all[n - 1]
    );
    for (bucket, count) in &histogram {
        eprintln!(
            "  distance {bucket:9} {count:5} ({:.2} %)",
            *count as f64 * 100.0 / n as f64
        );
    }
    assert!(n > 2000, "too few comparable frames: {n}");
    assert!(mean <= 2.0, "mean distance {mean:.3} > 2 bits");
    assert!(within10 >= 95.0, "only {within10:.2} % within 10 bits");
}

/// The Python interpreter of the virtualenv with the reference tools
/// (`$TAKEDOWN_VENV`, else `/opt/takedown-venv`), if it can import `vpdq`.
fn python_with_vpdq() -> Option<std::path::PathBuf> {
    let venv = std::env::var_os("TAKEDOWN_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/opt/takedown-venv".into());
    let python = venv.join("bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import vpdq"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// Meta's C++ vPDQ (PyPI `vpdq`, built against this machine's FFmpeg libraries) and
/// ours through the ffmpeg program see the same pixels: every frame of every sample
/// must have the same hash and quality, bit for bit.
#[test]
fn bit_exact_with_reference_vpdq_on_the_same_ffmpeg() {
    let test = "bit_exact_with_reference_vpdq_on_the_same_ffmpeg";
    let Some(dir) = setup(test) else {
        return;
    };
    let Some(python) = python_with_vpdq() else {
        assert!(
            std::env::var_os("TAKEDOWN_REQUIRE_VPDQ").is_none(),
            "{test}: the vpdq Python package is required (TAKEDOWN_REQUIRE_VPDQ) but absent"
        );
        vpdq_common::skip(
            test,
            "no virtualenv with the `vpdq` package (TAKEDOWN_VENV; \
             apt-get install libavcodec-dev libavformat-dev libavdevice-dev libavfilter-dev \
             libswscale-dev pkg-config, then pip install vpdq)",
        );
        return;
    };
    let script = "import sys, vpdq\n\
                  for f in vpdq.computeHash(sys.argv[1], seconds_per_hash=0):\n\
                  \x20   print(f'{f.frame_number},{f.quality},{f.hex}')\n";
    let mut videos: Vec<_> = std::fs::read_dir(dir.join("sample-videos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    videos.sort();
    // The reference first: it runs while the other test computes our hashes.
    let references: Vec<Vec<String>> = videos
        .iter()
        .map(|video| {
            let out = std::process::Command::new(&python)
                .args(["-c", script])
                .arg(video)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let ours_all = ours(&dir);
    assert_eq!(ours_all.len(), videos.len());
    let mut total = 0;
    for ((video, frames), reference) in ours_all.iter().zip(&references) {
        let ours: Vec<String> = frames
            .iter()
            .map(|f| format!("{},{},{}", f.number, f.pdq.quality, f.pdq.hash.to_hex()))
            .collect();
        let name = video.file_name().unwrap().to_string_lossy();
        assert_eq!(ours.len(), reference.len(), "{name}: frame count");
        let differing: Vec<_> = ours.iter().zip(reference).filter(|(a, b)| a != b).collect();
        assert!(
            differing.is_empty(),
            "{name}: {} frames differ, first: {:?}",
            differing.len(),
            differing[0]
        );
        total += ours.len();
    }
    eprintln!(
        "bit-exact with the reference vpdq on {total} frames of {} videos",
        videos.len()
    );
}
