//! `takedown hash` and `takedown compare` on videos, run for real (needs ffmpeg:
//! skipped with a message when absent, a failure when TAKEDOWN_REQUIRE_FFMPEG is set).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[path = "../../tests/skip.rs"]
mod skip;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_takedown"))
}

fn ffmpeg_present(test: &str) -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TAKEDOWN_REQUIRE_FFMPEG").is_none(),
            "{test}: ffmpeg is required (TAKEDOWN_REQUIRE_FFMPEG) but absent"
        );
        skip::skip(test, "ffmpeg not found");
    }
    ok
}

fn make(path: &Path, source: &str) {
    encode(path, &["-f", "lavfi", "-i", source]);
}

fn encode(path: &Path, input: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y"])
        .args(input)
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hash_and_compare_videos() {
    if !ffmpeg_present("hash_and_compare_videos") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.mp4");
    let a_small = dir.path().join("a-small.mkv");
    let other = dir.path().join("other.mp4");
    make(&a, "testsrc2=d=4:s=320x240:r=25");
    encode(
        &a_small,
        &["-i", a.to_str().unwrap(), "-vf", "scale=160:120"],
    );
    make(&other, "mandelbrot=s=320x240:r=25,trim=duration=4");

    let out = bin().args(["hash", "--json"]).arg(&a).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "video");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert_eq!(v["fps"].as_f64(), Some(25.0));
    assert_eq!(v["md5"].as_str().map(str::len), Some(32));
    assert_eq!(v["sha256"].as_str().map(str::len), Some(64));
    let frames = v["vpdq"].as_array().unwrap();
    let ts: Vec<f64> = frames.iter().map(|f| f["t"].as_f64().unwrap()).collect();
    assert_eq!(ts, vec![0.0, 1.0, 2.0, 3.0]);
    for f in frames {
        assert_eq!(f["pdq"].as_str().map(str::len), Some(64));
        assert!(f["quality"].as_u64().unwrap() <= 100);
    }

    let out = bin().arg("hash").arg(&a).arg("--frames").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("video 320x240") && text.contains("t=3.000 pdq="),
        "{text}"
    );

    let out = bin()
        .args(["compare", "--json"])
        .arg(&a)
        .arg(&a_small)
        .output()
        .unwrap();
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["kind"], "video");
    assert_eq!(m["match"], true, "{m}");
    assert!(m["query_matched_percent"].as_f64().unwrap() >= 80.0);

    let out = bin()
        .args(["compare"])
        .arg(&a)
        .arg(&other)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("% of A's") && text.contains("no match"),
        "{text}"
    );
}
