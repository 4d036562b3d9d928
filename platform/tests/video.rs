//! Video matching with real frames: a listed clip, its re-encoded and resized
//! copy (vPDQ match), the file itself (exact), and an unrelated clip (nothing).
//! Needs ffmpeg; skips with a SKIPPED line otherwise (panics when
//! `TAKEDOWN_REQUIRE_FFMPEG` is set).

use std::path::Path;
use std::process::Command;

use takedown_fingerprint as fingerprint;
use takedown_platform::matcher::{HashKind, Matcher};
use takedown_platform::scan::{ScanOptions, scan_file};
use takedown_platform::store::{Entry, FrameValue, PdqValue};
use takedown_protocol::ItemKind;

fn skip(test: &str, reason: &str) {
    if std::env::var_os("TAKEDOWN_REQUIRE_FFMPEG").is_some() {
        panic!("{test}: {reason} (TAKEDOWN_REQUIRE_FFMPEG is set)");
    }
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

fn ffmpeg(args: &[&str], out: &Path) {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_reencoded_copy_matches_by_vpdq_and_an_unrelated_clip_does_not() {
    let test = "a_reencoded_copy_matches_by_vpdq_and_an_unrelated_clip_does_not";
    if !fingerprint::video::ffmpeg::available() {
        return skip(test, "ffmpeg/ffprobe not found (apt-get install ffmpeg)");
    }
    let dir = tempfile::tempdir().unwrap();
    let listed = dir.path().join("listed.mp4");
    let copy = dir.path().join("copy.mkv");
    let other = dir.path().join("other.mp4");
    let src = ["-f", "lavfi", "-i", "testsrc2=d=8:s=320x240:r=15"];
    ffmpeg(
        &[&src[..], &["-c:v", "mpeg4", "-q:v", "3"]].concat(),
        &listed,
    );
    ffmpeg(
        &[
            "-i",
            listed.to_str().unwrap(),
            "-vf",
            "scale=200:150",
            "-c:v",
            "mpeg4",
            "-q:v",
            "8",
        ],
        &copy,
    );
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=s=320x240:r=15",
            "-t",
            "8",
            "-c:v",
            "mpeg4",
            "-q:v",
            "3",
        ],
        &other,
    );

    let fp = fingerprint::video::fingerprint_video_file(
        &listed,
        &fingerprint::video::VpdqOptions::default(),
        &fingerprint::video::CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    assert!(
        fp.usable_frames() >= 5,
        "{} usable frames",
        fp.usable_frames()
    );
    let mut md5 = [0u8; 16];
    let mut sha256 = [0u8; 32];
    hex::decode_to_slice(&fp.exact.md5, &mut md5).unwrap();
    hex::decode_to_slice(&fp.exact.sha256, &mut sha256).unwrap();
    let mut m = Matcher::new();
    m.upsert(&Entry {
        item_id: 42,
        seq: 1,
        kind: ItemKind::Video,
        md5,
        sha256,
        pdq: None,
        frames: fp
            .frames
            .iter()
            .map(|f| FrameValue {
                t: f.t,
                pdq: PdqValue {
                    hash: f.pdq.hash.0,
                    quality: f.pdq.quality,
                },
            })
            .collect(),
        edge_cuts: vec![],
    });
    let opts = ScanOptions::default();

    let r = scan_file(&m, &copy, &opts);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.hits.len(), 1, "{:?}", r.hits);
    let h = &r.hits[0];
    assert_eq!(
        (h.item_id, h.hash, h.kind),
        (42, HashKind::Vpdq, ItemKind::Video)
    );
    assert!(
        h.matched_percent.unwrap() >= 80.0 && h.distance <= 31,
        "{h:?}"
    );

    let r = scan_file(&m, &listed, &opts);
    assert_eq!((r.hits[0].item_id, r.hits[0].hash), (42, HashKind::Sha256));

    let r = scan_file(&m, &other, &opts);
    assert!(r.error.is_none() && r.hits.is_empty(), "{:?}", r.hits);
}
