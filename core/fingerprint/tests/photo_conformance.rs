//! PDQ on real camera-sized photos: the default path against the reference pipeline
//! (Pillow `Image.open(f).convert("RGB")` + PyPI `pdqhash`, Meta's C++ core).
//!
//! The photos come from Debian's `ukui-wallpapers`, `gnome-backgrounds` and
//! `desktop-base` (installed by `.ci/run`), saved as JPEG where they are not, plus
//! 12 MP camera-sized photos made from them with sensor-like noise
//! (`scripts/photo-conformance.py make DIR --quick`); the reference hashes are computed
//! by that script at test time. Skips when the packages or the Python reference are
//! absent (`TAKEDOWN_REQUIRE_PHOTOS=1` makes that a failure).

use std::path::{Path, PathBuf};
use std::process::Command;
use takedown_fingerprint::hashing::{PdqHash, fingerprint_image_bytes, pdq};
use takedown_fingerprint::media::{self, DecodeOptions};

/// Every photo of reference quality ≥ 80 must be within this many bits (Meta's rule).
const MAX_BITS: u32 = 10;
/// …and the mean over the set within this (the decoder is the reference's: 0 measured).
const MEAN_BITS: f64 = 0.5;

fn skip(test: &str, reason: &str) {
    assert!(
        std::env::var_os("TAKEDOWN_REQUIRE_PHOTOS").is_none(),
        "{test}: required (TAKEDOWN_REQUIRE_PHOTOS) but {reason}"
    );
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(log) = std::env::var_os("TAKEDOWN_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{test}\t{reason}");
        }
    }
}

fn python() -> PathBuf {
    std::env::var_os("TAKEDOWN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/opt/takedown-venv".into())
        .join("bin/python")
}

/// Build (or reuse) the photo set and its reference hashes; `None` after a skip.
fn photo_set(test: &str) -> Option<PathBuf> {
    let have_photos = ["/usr/share/backgrounds/gnome", "/usr/share/desktop-base"]
        .iter()
        .any(|d| Path::new(d).is_dir())
        || Path::new("/usr/share/backgrounds/city.png").is_file();
    if !have_photos {
        skip(
            test,
            "no Debian photos (apt-get install ukui-wallpapers gnome-backgrounds desktop-base)",
        );
        return None;
    }
    let py = python();
    let ok = Command::new(&py)
        .args(["-c", "import PIL, numpy, pdqhash"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(
            test,
            "no virtualenv with Pillow, numpy and pdqhash (TAKEDOWN_VENV)",
        );
        return None;
    }
    // One set per test binary run; the script reuses photos already made.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("photo-conformance");
    static MADE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if !*made {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/photo-conformance.py");
        let out = Command::new(&py)
            .arg(&script)
            .arg("make")
            .arg(&dir)
            .arg("--quick")
            .output()
            .expect("run the reference script");
        assert!(
            out.status.success(),
            "photo-conformance.py make failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        *made = true;
    }
    Some(dir)
}

struct Ref {
    file: String,
    width: u32,
    height: u32,
    quality: u8,
    hash: PdqHash,
}

fn references(dir: &Path) -> Vec<Ref> {
    std::fs::read_to_string(dir.join("reference.tsv"))
        .expect("reference.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Ref {
                file: f[0].into(),
                width: f[1].parse().unwrap(),
                height: f[2].parse().unwrap(),
                quality: f[3].parse().unwrap(),
                hash: PdqHash::from_hex(f[4]).unwrap(),
            }
        })
        .collect()
}

#[test]
fn default_path_within_bound_on_real_photos() {
    let test = "default_path_within_bound_on_real_photos";
    let Some(dir) = photo_set(test) else {
        return;
    };
    let rows: Vec<Ref> = references(&dir)
        .into_iter()
        .filter(|r| r.quality >= 80)
        .collect();
    assert!(rows.len() >= 10, "too few photos of quality >= 80");
    let mut dists = vec![];
    let mut failures = vec![];
    for r in &rows {
        let bytes = std::fs::read(dir.join(&r.file)).unwrap();
        let f = fingerprint_image_bytes(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!((f.width, f.height), (r.width, r.height), "{}", r.file);
        let d = f.pdq.hash.distance(&r.hash);
        if d > MAX_BITS {
            failures.push(format!("{}: {d} bits", r.file));
        }
        dists.push(d);
    }
    let mean = dists.iter().sum::<u32>() as f64 / dists.len() as f64;
    let max = dists.iter().max().copied().unwrap_or(0);
    eprintln!(
        "PDQ vs reference on {} real photos (quality >= 80): mean {mean:.2} bits, max {max}",
        dists.len()
    );
    assert!(
        failures.is_empty(),
        "over {MAX_BITS} bits:\n{}",
        failures.join("\n")
    );
    assert!(mean <= MEAN_BITS, "mean {mean:.2} bits > {MEAN_BITS}");
}

/// An APP1 segment holding only an EXIF orientation tag (big-endian TIFF).
fn exif_app1(orientation: u16) -> Vec<u8> {
    let mut tiff = vec![b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1];
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut seg = vec![0xff, 0xe1];
    let len = (2 + 6 + tiff.len()) as u16;
    seg.extend_from_slice(&len.to_be_bytes());
    seg.extend_from_slice(b"Exif\0\0");
    seg.extend_from_slice(&tiff);
    seg
}

fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend(exif_app1(orientation));
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Streaming hashes the stored rows and orients through the DCT; that must agree with
/// hashing the rotated pixels (what a viewer sees) for all eight orientations.
fn orientation_distances(jpeg: &[u8]) -> Vec<u32> {
    let mut out = vec![];
    for o in 1..=8u16 {
        let bytes = with_orientation(jpeg, o);
        let streamed = fingerprint_image_bytes(&bytes, &DecodeOptions::default()).unwrap();
        let d = media::decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!((streamed.width, streamed.height), (d.width, d.height));
        let rotated = pdq::pdq_from_rgb(&d.rgb.data, d.rgb.width as usize, d.rgb.height as usize);
        out.push(streamed.pdq.hash.distance(&rotated.pdq.hash));
        assert!(
            streamed.pdq.quality.abs_diff(rotated.pdq.quality) <= 1,
            "orientation {o}: quality {} vs {}",
            streamed.pdq.quality,
            rotated.pdq.quality
        );
    }
    out
}

#[test]
fn exif_orientation_through_the_dct_matches_rotated_pixels_on_a_fixture() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images/scene.jpg");
    let jpeg = std::fs::read(&p).unwrap();
    let d = orientation_distances(&jpeg);
    // Small pictures are rotated as pixels: exact.
    assert_eq!(d, vec![0; 8]);
}

#[test]
fn exif_orientation_through_the_dct_matches_rotated_pixels_on_photos() {
    let test = "exif_orientation_through_the_dct_matches_rotated_pixels_on_photos";
    let Some(dir) = photo_set(test) else {
        return;
    };
    let mut all = vec![];
    for r in references(&dir).iter().filter(|r| r.quality >= 80).take(8) {
        let jpeg = std::fs::read(dir.join(&r.file)).unwrap();
        let d = orientation_distances(&jpeg);
        assert_eq!(d[0], 0, "{}", r.file);
        all.extend(d);
    }
    let mean = all.iter().sum::<u32>() as f64 / all.len() as f64;
    let max = all.iter().max().copied().unwrap_or(0);
    eprintln!(
        "oriented through the DCT vs rotated pixels: {} cases, mean {mean:.2} bits, max {max}",
        all.len()
    );
    // Pictures over ROTATE_PIXELS_UP_TO go through the DCT (measured: mean 1.5, max 6).
    assert!(max <= 10 && mean <= 2.0, "mean {mean:.2}, max {max}");
}
