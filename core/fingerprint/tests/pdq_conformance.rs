//! PDQ against Meta's reference core (`../shared/conformance/pdq`).
mod common;

use common::{conformance_dir, reference_rows};
use takedown_fingerprint::hashing::{PdqHash, fingerprint_image_file, pdq};
use takedown_fingerprint::media::{self, DecodeOptions};

fn hex(h: &PdqHash) -> String {
    h.to_hex()
}

/// Same pixels ⇒ same bits: golden RGB PNGs and synthetic edge cases, hash, quality
/// and the 7 derived dihedrals.
#[test]
fn bit_exact_on_reference_pixels() {
    let Some(dir) = conformance_dir("bit_exact_on_reference_pixels") else {
        return;
    };
    let rows: Vec<_> = reference_rows(&dir)
        .into_iter()
        .filter(|r| r.image.starts_with("pdq/golden-rgb/") || r.image.starts_with("pdq/synthetic/"))
        .collect();
    assert!(rows.len() >= 17, "expected the golden and synthetic rows");
    let mut failures = vec![];
    for r in &rows {
        let bytes = std::fs::read(dir.join(&r.image)).unwrap();
        let d = media::decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(
            (d.rgb.width, d.rgb.height),
            (r.width, r.height),
            "{}",
            r.image
        );
        let digest = pdq::pdq_from_rgb(&d.rgb.data, d.rgb.width as usize, d.rgb.height as usize);
        let dih = digest.dihedrals().all();
        let got: Vec<String> = dih.iter().map(hex).collect();
        if digest.pdq.quality != r.quality || got[..] != r.hashes[..] {
            failures.push(format!(
                "{}: quality {} vs {}; mismatching columns: {:?}",
                r.image,
                digest.pdq.quality,
                r.quality,
                (0..8)
                    .filter(|&i| got[i] != r.hashes[i])
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "not bit-exact:\n{}",
        failures.join("\n")
    );
}

/// Meta's acceptance rule with our own decoder (the default decode): within 10 bits
/// for quality ≥ 80.
#[test]
fn own_decoder_within_ten_bits() {
    let Some(dir) = conformance_dir("own_decoder_within_ten_bits") else {
        return;
    };
    for (label, opts) in [(
        "default decode",
        DecodeOptions {
            apply_orientation: false,
            ..DecodeOptions::default()
        },
    )] {
        let mut dists = vec![];
        let mut failures = vec![];
        for r in reference_rows(&dir) {
            if !r.image.starts_with("pdq/data/") {
                continue;
            }
            let f = fingerprint_image_file(&dir.join(&r.image), &opts).unwrap();
            let expected = PdqHash::from_hex(&r.hashes[0]).unwrap();
            let dist = f.pdq.hash.distance(&expected);
            if r.quality >= 80 {
                dists.push(dist);
                if dist > 10 {
                    failures.push(format!("{}: {dist} bits", r.image));
                }
            }
        }
        let max = dists.iter().max().copied().unwrap_or(0);
        let mean = dists.iter().sum::<u32>() as f64 / dists.len() as f64;
        eprintln!(
            "PDQ vs reference ({label}): {} images of quality >= 80, max {max} bits, mean {mean:.2}",
            dists.len()
        );
        assert!(
            failures.is_empty(),
            "{label}: over 10 bits:\n{}",
            failures.join("\n")
        );
    }
}
