//! Video files in `takedown hash` and `takedown compare`: vPDQ through ffmpeg, with a
//! progress bar on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use takedown_fingerprint::hashing::pdq::MIN_QUALITY;
use takedown_fingerprint::video::{self, CancelToken, VideoFingerprint, VpdqOptions};

/// Whether the file's first bytes look like a video container.
pub(crate) fn is_video(path: &Path) -> bool {
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .is_ok()
        && video::looks_like_video(&head)
}

/// vPDQ + MD5/SHA-256 of a video, with a progress bar (drawn only on a terminal).
pub(crate) fn fingerprint(path: &Path) -> Result<VideoFingerprint, String> {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {bar:30} {percent:>3}%  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(crate::display(path));
    let result = video::fingerprint_video_file(
        path,
        &VpdqOptions::default(),
        &CancelToken::new(),
        &mut |p| {
            if let Some(d) = p.duration_secs {
                bar.set_length((d * 1000.0) as u64);
                bar.set_position((p.position_secs * 1000.0) as u64);
            } else {
                bar.tick();
            }
        },
    );
    bar.finish_and_clear();
    result.map_err(|e| e.to_string())
}

fn millis(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// The JSON record of a video (`"kind": "video"`).
pub(crate) fn video_json(path: &Path, f: &VideoFingerprint) -> Value {
    let frames: Vec<Value> = f
        .frames
        .iter()
        .map(|x| json!({"t": millis(x.t), "pdq": x.pdq.hash.to_hex(), "quality": x.pdq.quality}))
        .collect();
    let mut v = json!({
        "path": crate::display(path),
        "kind": "video",
        "md5": f.exact.md5,
        "sha256": f.exact.sha256,
        "width": f.info.width,
        "height": f.info.height,
        "fps": f.info.fps,
        "duration": f.info.duration.map(millis),
        "usable_frames": f.usable_frames(),
        "vpdq": frames,
    });
    if let Some(d) = &f.damage {
        v["damaged"] = json!(d);
    }
    v
}

/// Hash one video file into its JSON record.
pub(crate) fn hash_video(path: &Path) -> Result<Value, String> {
    fingerprint(path).map(|f| video_json(path, &f))
}

/// The text output of a video record; `frames` lists every vPDQ frame.
pub(crate) fn text_line(v: &Value, frames: bool) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let list = v["vpdq"].as_array().cloned().unwrap_or_default();
    let mut line = format!(
        "{}  video {}x{} {}s {:.3} fps  vpdq={} frames ({} usable) md5={} sha256={}",
        s("path"),
        v["width"],
        v["height"],
        v["duration"],
        v["fps"].as_f64().unwrap_or(0.0),
        list.len(),
        v["usable_frames"],
        s("md5"),
        s("sha256"),
    );
    if v["usable_frames"].as_u64() == Some(0) {
        line.push_str("  (no frame of quality >= 50: only exact copies can be found)");
    }
    if let Some(d) = v.get("damaged").and_then(Value::as_str) {
        line.push_str(&format!(
            "\n    warning: damaged or truncated, hashed what decodes ({d})"
        ));
    }
    if frames {
        for f in &list {
            line.push_str(&format!(
                "\n    t={:.3} pdq={} quality={}",
                f["t"].as_f64().unwrap_or(0.0),
                f["pdq"].as_str().unwrap_or(""),
                f["quality"]
            ));
        }
    }
    line
}

/// `takedown compare A B` for two videos: A is the query.
pub(crate) fn compare(a: &str, b: &str, json_out: bool) -> ExitCode {
    let fail = |e: String| {
        if json_out {
            println!("{}", json!({ "error": e }));
        } else {
            eprintln!("error: {e}");
        }
        ExitCode::from(1)
    };
    let (pa, pb) = (Path::new(a), Path::new(b));
    if !is_video(pa) || !is_video(pb) {
        return fail("compare a video with another video".into());
    }
    let fa = match fingerprint(pa) {
        Ok(f) => f,
        Err(e) => return fail(format!("{a}: {e}")),
    };
    let fb = match fingerprint(pb) {
        Ok(f) => f,
        Err(e) => return fail(format!("{b}: {e}")),
    };
    let m = video::match_videos(&fa.frames, &fb.frames);
    if json_out {
        println!(
            "{}",
            json!({
                "kind": "video",
                "query_matched_percent": m.query_matched_percent,
                "compared_matched_percent": m.compared_matched_percent,
                "query_frames": m.query_frames,
                "compared_frames": m.compared_frames,
                "match": m.is_match,
                "threshold_percent": 80,
                "md5_equal": fa.exact.md5 == fb.exact.md5,
            })
        );
    } else {
        println!(
            "{:.1} % of A's {} frames match B; {:.1} % of B's {} frames match A: {}",
            m.query_matched_percent,
            m.query_frames,
            m.compared_matched_percent,
            m.compared_frames,
            if m.is_match {
                "MATCH (>= 80 % of A's frames)"
            } else {
                "no match (needs >= 80 % of A's frames)"
            }
        );
        if fa.exact.sha256 == fb.exact.sha256 {
            println!("identical files (same SHA-256)");
        }
        if m.query_frames == 0 || m.compared_frames == 0 {
            println!(
                "a video without frames of quality >= {MIN_QUALITY} cannot be matched by vPDQ; only exact copies"
            );
        }
    }
    ExitCode::SUCCESS
}
