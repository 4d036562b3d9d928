//! Does `image_hasher` earn a place next to PDQ? (docs/adr/0005-image-hasher.md)
//!
//! On the conformance photos (or any directory given), measures for the same decoded
//! pixels: time per image of PDQ vs image_hasher's gradient hashes, and how well each
//! separates "same picture, edited" pairs from "different pictures" pairs.
//!
//! `cargo run --release -p takedown-fingerprint --example image_hasher_eval -- ../shared/conformance/pdq/data`

use image_hasher::{HashAlg, HasherConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;
use takedown_fingerprint::hashing::pdq;
use takedown_fingerprint::media::{self, DecodeOptions};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if media::sniff(&std::fs::read(&p).unwrap_or_default()).is_some() {
            out.push(p);
        }
    }
}

/// Which picture a conformance file shows: bridge edits and rotations are one picture.
fn family(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.contains("bridge") || s.contains("/modes/") {
        "bridge".into()
    } else {
        p.file_stem().unwrap().to_string_lossy().into()
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/conformance/pdq/data".into());
    let mut paths = vec![];
    files(Path::new(&dir), &mut paths);
    // Rotated copies are matched through dihedrals for PDQ; keep upright edits only.
    paths.retain(|p| {
        !p.to_string_lossy().contains("/dih/bridge-") || p.to_string_lossy().contains("original")
    });
    let hasher8 = HasherConfig::new()
        .hash_size(8, 8)
        .hash_alg(HashAlg::Gradient)
        .to_hasher();
    let hasher16 = HasherConfig::new()
        .hash_size(16, 16)
        .hash_alg(HashAlg::DoubleGradient)
        .to_hasher();
    let (mut t_pdq, mut t_g8, mut t_g16) = (0f64, 0f64, 0f64);
    let mut rows = vec![];
    for p in &paths {
        let bytes = std::fs::read(p).unwrap();
        let d = media::decode(&bytes, &DecodeOptions::default()).unwrap();
        let (w, h) = (d.rgb.width, d.rgb.height);
        let t = Instant::now();
        let q = pdq::pdq_from_rgb(&d.rgb.data, w as usize, h as usize);
        t_pdq += t.elapsed().as_secs_f64();
        let img =
            image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, d.rgb.data).unwrap());
        let t = Instant::now();
        let g8 = hasher8.hash_image(&img);
        t_g8 += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let g16 = hasher16.hash_image(&img);
        t_g16 += t.elapsed().as_secs_f64();
        if q.pdq.quality >= pdq::MIN_QUALITY {
            rows.push((family(p), q.pdq.hash, g8, g16));
        }
    }
    let n = paths.len() as f64;
    println!(
        "images: {} ({} with PDQ quality >= 50)",
        paths.len(),
        rows.len()
    );
    println!(
        "time per image on the same decoded pixels (ms): pdq {:.2}  gradient-8x8 {:.2}  double-gradient-16 {:.2}",
        t_pdq / n * 1e3,
        t_g8 / n * 1e3,
        t_g16 / n * 1e3
    );
    // Separation: max distance among same-picture pairs vs min among different pictures,
    // each as a fraction of the hash length.
    let mut same = [0f64; 3];
    let mut diff = [1f64; 3];
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            let d = [
                rows[i].1.distance(&rows[j].1) as f64 / 256.0,
                rows[i].2.dist(&rows[j].2) as f64 / 64.0,
                rows[i].3.dist(&rows[j].3) as f64 / (rows[i].3.as_bytes().len() * 8) as f64,
            ];
            for k in 0..3 {
                if rows[i].0 == rows[j].0 {
                    same[k] = f64::max(same[k], d[k]);
                } else {
                    diff[k] = f64::min(diff[k], d[k]);
                }
            }
        }
    }
    for (k, name) in [
        "pdq (256 bits)",
        "gradient 8x8 (64 bits)",
        "double-gradient 16 (bits)",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "{name:28} same picture max {:.3}  different pictures min {:.3}  margin {:+.3}",
            same[k],
            diff[k],
            diff[k] - same[k]
        );
    }
}
