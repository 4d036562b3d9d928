//! vPDQ benchmark: ours (ffmpeg program → RGB24 pipe → streaming PDQ, plus MD5 and
//! SHA-256 of the file) against the reference path from PyPI (Meta's C++ `vpdq`, and
//! PyAV + `pdqhash` when installed), side by side on one clip made here.
//!
//! ```sh
//! cargo run -p takedown-fingerprint --example bench_video            # 60 s, 1080p
//! cargo run -p takedown-fingerprint --example bench_video -- 20 1280x720
//! ```
//! (The workspace builds the dev profile at opt-level 2; the table in
//! `docs/adr/0200-vpdq.md` came from the first command. `--release` works too.)
//! Arguments: clip length in seconds (default 60) and size (default 1920x1080).
//! The reference runs through `scripts/bench-video-ref.py` with the interpreter of
//! `$TAKEDOWN_VENV` (default `/opt/takedown-venv`); missing packages are reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use takedown_fingerprint::video::{self, CancelToken, VpdqOptions};

struct Row {
    path: String,
    seconds_per_hash: f64,
    frames_hashed: usize,
    wall_s: f64,
}

fn ffmpeg(args: &[&str]) -> Result<(), String> {
    let out = Command::new(video::ffmpeg::ffmpeg_program())
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn reference(python: &Path, script: &Path, clip: &Path, sph: f64) -> Vec<Row> {
    let out = match Command::new(python)
        .arg(script)
        .arg(clip)
        .arg(sph.to_string())
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("reference not run ({}): {e}", python.display());
            return vec![];
        }
    };
    let mut rows = vec![];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let path = v["path"].as_str().unwrap_or("?").to_string();
        if let Some(missing) = v["missing"].as_str() {
            eprintln!("reference {path} not available: {missing}");
            continue;
        }
        rows.push(Row {
            path,
            seconds_per_hash: sph,
            frames_hashed: v["frames_hashed"].as_u64().unwrap_or(0) as usize,
            wall_s: v["wall_s"].as_f64().unwrap_or(f64::NAN),
        });
    }
    if !out.status.success() {
        eprintln!(
            "reference script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    rows
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u32 = args.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    let size = args.get(1).cloned().unwrap_or_else(|| "1920x1080".into());
    let fps = 30;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let clip = tmp.path().join("clip.mp4");
    let clip_s = clip.to_str().ok_or("temp path is not UTF-8")?;

    let t = Instant::now();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=s={size}:r={fps}:d={seconds}"),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        clip_s,
    ])?;
    let decoded_frames = (seconds * fps) as f64;
    eprintln!(
        "clip: {seconds} s {size} {fps} fps H.264 (testsrc2, veryfast), {} MB, made in {:.1} s",
        std::fs::metadata(&clip).map(|m| m.len()).unwrap_or(0) / 1_000_000,
        t.elapsed().as_secs_f64()
    );

    // Decoding alone, for scale: what any path must pay.
    let t = Instant::now();
    ffmpeg(&["-i", clip_s, "-f", "null", "-"])?;
    let decode_only = t.elapsed().as_secs_f64();

    let venv = std::env::var_os("TAKEDOWN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/opt/takedown-venv".into());
    let python = venv.join("bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench-video-ref.py");

    let mut rows = vec![];
    for sph in [1.0, 0.0] {
        let opts = VpdqOptions {
            seconds_per_hash: sph,
            ..VpdqOptions::default()
        };
        let mut hashed = 0;
        let t = Instant::now();
        video::fingerprint_video_file(&clip, &opts, &CancelToken::new(), &mut |p| {
            hashed = p.frames_hashed as usize
        })
        .map_err(|e| e.to_string())?;
        let wall = t.elapsed().as_secs_f64();
        rows.push(Row {
            path: "takedown (ffmpeg pipe + PDQ + MD5/SHA-256)".into(),
            seconds_per_hash: sph,
            frames_hashed: hashed,
            wall_s: wall,
        });
        rows.extend(reference(&python, &script, &clip, sph));
    }

    println!(
        "\nvPDQ, {seconds} s {size} {fps} fps clip ({} frames); ffmpeg decode only (-f null): {decode_only:.2} s",
        decoded_frames as u64
    );
    println!(
        "| path | seconds/hash | frames hashed | wall s | frames hashed/s | decoded frames/s | ref wall / ours |"
    );
    println!("|---|---|---|---|---|---|---|");
    for sph in [1.0, 0.0] {
        let ours = rows
            .iter()
            .find(|r| r.seconds_per_hash == sph && r.path.starts_with("takedown"))
            .map_or(f64::NAN, |r| r.wall_s);
        for r in rows.iter().filter(|r| r.seconds_per_hash == sph) {
            println!(
                "| {} | {} | {} | {:.2} | {:.1} | {:.1} | {:.2} |",
                r.path,
                r.seconds_per_hash,
                r.frames_hashed,
                r.wall_s,
                r.frames_hashed as f64 / r.wall_s,
                decoded_frames / r.wall_s,
                r.wall_s / ours
            );
        }
    }
    Ok(())
}
