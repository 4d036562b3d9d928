//! Helpers shared by the vPDQ integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use takedown_fingerprint::video::{self, CancelToken, VpdqFrame, VpdqOptions};

#[path = "../../../../tests/skip.rs"]
mod skip_log;
#[allow(unused_imports)]
pub use skip_log::skip;

/// Whether ffmpeg can be used. Absent: prints a SKIPPED line and returns false, or
/// panics when `TAKEDOWN_REQUIRE_FFMPEG` is set (CI), so CI cannot skip silently.
pub fn require_ffmpeg(test: &str) -> bool {
    if video::ffmpeg::available() {
        return true;
    }
    if std::env::var_os("TAKEDOWN_REQUIRE_FFMPEG").is_some() {
        panic!("{test}: ffmpeg/ffprobe are required (TAKEDOWN_REQUIRE_FFMPEG) but not runnable");
    }
    skip(test, "ffmpeg/ffprobe not found (apt-get install ffmpeg)");
    false
}

/// `../shared/conformance/vpdq` (or `$TAKEDOWN_SHARED/conformance/vpdq`), or `None`
/// with a SKIPPED message (panics when `TAKEDOWN_REQUIRE_SHARED` is set).
pub fn vpdq_dir(test: &str) -> Option<PathBuf> {
    let base = std::env::var_os("TAKEDOWN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = base.join("conformance/vpdq");
    if dir.join("sample-videos").is_dir() && dir.join("sample-hashes").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("TAKEDOWN_REQUIRE_SHARED").is_some() {
        panic!(
            "{test}: ../shared/conformance/vpdq is required (TAKEDOWN_REQUIRE_SHARED) but absent"
        );
    }
    skip(
        test,
        "../shared/conformance/vpdq not found (set TAKEDOWN_SHARED to run it)",
    );
    None
}

/// Both prerequisites; `None` means the test was skipped with a message.
pub fn setup(test: &str) -> Option<PathBuf> {
    let dir = vpdq_dir(test)?;
    require_ffmpeg(test).then_some(dir)
}

/// One line of a reference sample-hash file.
#[derive(Clone, Debug)]
pub struct RefFrame {
    pub frame: u64,
    pub quality: u8,
    pub hash: String,
    pub t: f64,
}

/// Parse `frame_number,quality,pdq_hex,timestamp_seconds` lines.
pub fn read_sample_hashes(path: &Path) -> Vec<RefFrame> {
    let text = std::fs::read_to_string(path).expect("sample hashes readable");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.trim().split(',').collect();
            assert_eq!(f.len(), 4, "bad sample line {l:?}");
            RefFrame {
                frame: f[0].parse().unwrap(),
                quality: f[1].parse().unwrap(),
                hash: f[2].to_string(),
                t: f[3].parse().unwrap(),
            }
        })
        .collect()
}

/// vPDQ of a file through ffmpeg (no MD5/SHA-256).
pub fn hash_file(path: &Path, opts: &VpdqOptions) -> Vec<VpdqFrame> {
    let cancel = CancelToken::new();
    let mut src = video::ffmpeg::FfmpegSource::open(path, &opts.limits, &cancel)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    video::hash_frames(&mut src, opts, &cancel, &mut |_| {})
        .unwrap_or_else(|e| panic!("hash {}: {e}", path.display()))
}

/// Run ffmpeg with these arguments (quiet, overwrite), panicking on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new(video::ffmpeg::ffmpeg_program())
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
