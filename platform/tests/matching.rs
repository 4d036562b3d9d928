//! Matching generated pictures: re-uploads (re-encoded, resized, rotated,
//! mirrored, letterboxed, padded) match their listed original, unrelated
//! pictures do not; expansion is what finds the rotated and letterboxed ones.

mod support;

use std::collections::BTreeMap;

use support::pictures::{jpeg, photo, reuploads};
use takedown_fingerprint as fingerprint;
use takedown_platform::expand::ExpandOptions;
use takedown_platform::matcher::{HashKind, Matcher};
use takedown_platform::scan::{ScanOptions, match_image_bytes};
use takedown_platform::store::{Entry, PdqValue};
use takedown_protocol::ItemKind;

fn listed(originals: &[Vec<u8>]) -> Matcher {
    let mut m = Matcher::new();
    for (i, bytes) in originals.iter().enumerate() {
        let fp = fingerprint::hashing::fingerprint_image_bytes(
            bytes,
            &fingerprint::media::DecodeOptions::default(),
        )
        .unwrap();
        assert!(fp.pdq.quality >= 50, "generated picture {i} is too flat");
        let mut md5 = [0u8; 16];
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(&fp.exact.md5, &mut md5).unwrap();
        hex::decode_to_slice(&fp.exact.sha256, &mut sha256).unwrap();
        m.upsert(&Entry {
            item_id: i as i64 + 1,
            seq: i as i64 + 1,
            kind: ItemKind::Image,
            md5,
            sha256,
            pdq: Some(PdqValue {
                hash: fp.pdq.hash.0,
                quality: fp.pdq.quality,
            }),
            frames: vec![],
            edge_cuts: vec![],
        });
    }
    m
}

#[test]
fn reuploads_match_their_original_and_unrelated_pictures_do_not() {
    let originals: Vec<_> = (0..6u64).map(|s| photo(s, 480, 360)).collect();
    let listed_bytes: Vec<Vec<u8>> = originals.iter().map(|p| jpeg(p, 90)).collect();
    let m = listed(&listed_bytes);
    let on = ScanOptions::default();
    let off = ScanOptions {
        expand: ExpandOptions::none(),
        ..ScanOptions::default()
    };

    // The listed file itself: an exact (SHA-256) match.
    let hits = match_image_bytes(&m, &listed_bytes[0], &on).unwrap();
    assert_eq!((hits[0].item_id, hits[0].hash), (1, HashKind::Sha256));

    let mut table: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, img) in originals.iter().enumerate() {
        let want = i as i64 + 1;
        for (name, bytes) in reuploads(img) {
            let hits = match_image_bytes(&m, &bytes, &on).unwrap();
            assert_eq!(
                hits.iter().map(|h| h.item_id).collect::<Vec<_>>(),
                vec![want],
                "{name} of picture {i}: {hits:?}"
            );
            let h = &hits[0];
            assert_eq!(h.hash, HashKind::Pdq);
            assert!(h.distance <= 31);
            let variant = h.variant.as_deref().unwrap_or("");
            match name {
                "rotate90" | "mirrored" => assert!(
                    variant != "original" && !variant.starts_with("trimmed"),
                    "{name}: {variant}"
                ),
                "letterboxed" | "padded" => {
                    assert!(variant.starts_with("trimmed"), "{name}: {variant}")
                }
                _ => {}
            }
            let plain = match_image_bytes(&m, &bytes, &off).unwrap();
            let e = table.entry(name).or_default();
            e.0 += usize::from(plain.iter().any(|h| h.item_id == want));
            e.1 += 1;
        }
    }
    eprintln!("transform      without expansion (with expansion: all matched)");
    for (name, (n, of)) in &table {
        eprintln!("{name:<14} {n}/{of}");
    }
    // Without expansion, rotated and mirrored copies are not found.
    assert_eq!(table["rotate90"].0, 0);
    assert_eq!(table["mirrored"].0, 0);

    // Unrelated pictures (and their re-uploads) match nothing.
    for s in 100..140u64 {
        let img = photo(s, 480, 360);
        for (name, bytes) in reuploads(&img).into_iter().take(4) {
            let hits = match_image_bytes(&m, &bytes, &on).unwrap();
            assert!(hits.is_empty(), "unrelated {s} ({name}) matched {hits:?}");
        }
    }
}

#[test]
fn damaged_pictures_are_an_error_not_a_panic() {
    let m = Matcher::new();
    let mut bytes = jpeg(&photo(1, 64, 64), 90);
    bytes.truncate(bytes.len() / 3);
    assert!(match_image_bytes(&m, &bytes, &ScanOptions::default()).is_err());
    assert!(match_image_bytes(&m, b"not a picture", &ScanOptions::default()).is_err());
}
