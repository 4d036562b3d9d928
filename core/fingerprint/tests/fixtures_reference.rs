//! Committed fixtures (tests/fixtures, made by scripts/make-fixtures.py) against the
//! reference values recorded beside them. Runs without ../shared.

use std::path::PathBuf;
use takedown_fingerprint::hashing::{PdqHash, fingerprint_image_file};
use takedown_fingerprint::media::DecodeOptions;

struct Row {
    file: String,
    quality: u8,
    hash: PdqHash,
    note: String,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(dir().join("reference-pdq.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file\t") && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                file: f[0].into(),
                quality: f[4].parse().unwrap(),
                hash: PdqHash::from_hex(f[5]).unwrap(),
                note: f[6].into(),
            }
        })
        .collect()
}

fn hash(file: &str) -> (PdqHash, u8) {
    let f = fingerprint_image_file(&dir().join("images").join(file), &DecodeOptions::default())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    (f.pdq.hash, f.pdq.quality)
}

fn reference(rows: &[Row], file: &str) -> PdqHash {
    rows.iter().find(|r| r.file == file).unwrap().hash
}

#[test]
fn lossless_fixtures_are_bit_exact() {
    let rows = rows();
    let exact: Vec<_> = rows.iter().filter(|r| r.note == "exact").collect();
    assert!(exact.len() >= 15);
    for r in exact {
        let (h, q) = hash(&r.file);
        assert_eq!((h, q), (r.hash, r.quality), "{} not bit-exact", r.file);
    }
}

#[test]
fn lossy_fixtures_within_ten_bits() {
    let rows = rows();
    for r in rows.iter().filter(|r| r.note == "decoder") {
        let (h, q) = hash(&r.file);
        let expected = if r.file == "scene-exif6.jpg" {
            // Stored sideways with orientation 6: we hash what a viewer sees, the
            // upright picture; the reference ignores EXIF.
            reference(&rows, "scene.jpg")
        } else {
            r.hash
        };
        let d = h.distance(&expected);
        assert!(d <= 10, "{}: {d} bits from the reference", r.file);
        assert!(
            q.abs_diff(r.quality) <= 5,
            "{}: quality {q} vs {}",
            r.file,
            r.quality
        );
    }
}

#[test]
fn every_format_and_mode_hashes_close_to_the_rgb_original() {
    let rows = rows();
    let original = reference(&rows, "scene-320x240.png");
    let grey = reference(&rows, "scene-grey.png");
    for file in [
        "scene.jpg",
        "scene-progressive.jpg",
        "scene-cmyk.jpg",
        "scene.gif",
        "scene.bmp",
        "scene.tiff",
        "scene.webp",
        "scene-alpha.png",
        "scene-palette.png",
        "scene-exif6.jpg",
    ] {
        let (h, _) = hash(file);
        assert!(
            h.distance(&original) <= 16,
            "{file}: {} bits from the original",
            h.distance(&original)
        );
    }
    for file in ["scene-grey.png", "scene-grey-alpha.png", "scene-grey.jpg"] {
        let (h, _) = hash(file);
        assert!(h.distance(&grey) <= 10, "{file}");
    }
}

/// Policy (docs/adr/0003): 16-bit samples are scaled to 8 bits like a viewer shows
/// them; Pillow clips them instead (its quality-0 row in the TSV).
#[test]
fn sixteen_bit_is_scaled_not_clipped() {
    let rows = rows();
    let (h, q) = hash("scene-grey16.png");
    let r16 = rows.iter().find(|r| r.file == "scene-grey16.png").unwrap();
    assert_eq!(r16.quality, 0, "Pillow clips 16-bit grey to white");
    assert_eq!(
        h,
        reference(&rows, "scene-grey.png"),
        "same picture as the 8-bit grey"
    );
    assert!(q >= 50);
}

#[test]
fn streamed_jpeg_hash_equals_hash_of_decoded_pixels() {
    // The default path streams JPEG rows into PDQ; it must equal hashing the whole
    // decoded picture (baseline, progressive, CMYK).
    for file in ["scene.jpg", "scene-progressive.jpg", "scene-cmyk.jpg"] {
        let p = dir().join("images").join(file);
        let streamed = fingerprint_image_file(&p, &DecodeOptions::default()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let d = takedown_fingerprint::media::decode(&bytes, &DecodeOptions::default()).unwrap();
        let whole = takedown_fingerprint::hashing::pdq::pdq_from_rgb(
            &d.rgb.data,
            d.rgb.width as usize,
            d.rgb.height as usize,
        );
        assert_eq!(streamed.pdq, whole.pdq, "{file}");
        assert_eq!(streamed.dihedrals, whole.dihedrals(), "{file}");
    }
}
