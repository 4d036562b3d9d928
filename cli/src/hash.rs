//! `takedown hash`: fingerprints of files and directory trees.

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use takedown_fingerprint::hashing::{self, ImageFingerprint};
use takedown_fingerprint::media::DecodeOptions;

#[derive(Args)]
pub struct HashArgs {
    /// Files or directories (walked recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// One JSON object per line per file.
    #[arg(long)]
    json: bool,
    /// Include the 8 dihedral PDQ hashes (always included with --json).
    #[arg(long)]
    dihedral: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// For videos, list every vPDQ frame in text output (always listed with --json).
    #[arg(long)]
    frames: bool,
}

/// One input, in the order it will be reported.
enum Input {
    File(PathBuf),
    /// A path that could not be walked or read as a directory entry.
    Bad(PathBuf, String),
}

fn collect(paths: &[PathBuf]) -> Vec<Input> {
    let mut out = vec![];
    for p in paths {
        walk(p, &mut out, true);
    }
    out
}

fn walk(p: &Path, out: &mut Vec<Input>, top: bool) {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => {
            out.push(Input::Bad(p.to_path_buf(), io_reason(&e)));
            return;
        }
    };
    if meta.is_dir() {
        let entries = match std::fs::read_dir(p) {
            Ok(rd) => rd,
            Err(e) => {
                out.push(Input::Bad(p.to_path_buf(), io_reason(&e)));
                return;
            }
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for c in children {
            // Hidden files inside directories (.DS_Store, .thumbnails) are not media.
            if c.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            walk(&c, out, false);
        }
    } else if meta.is_file() || top {
        out.push(Input::File(p.to_path_buf()));
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Fingerprint one file into its JSON record.
pub(crate) fn hash_file(path: &Path, opts: &DecodeOptions) -> Result<Value, String> {
    let f = hashing::fingerprint_image_file(path, opts).map_err(|e| e.to_string())?;
    Ok(image_json(path, &f))
}

fn image_json(path: &Path, f: &ImageFingerprint) -> Value {
    let d = &f.dihedrals;
    // The phone's wire form: `{"top_20": {"pdq", "quality"}, "bottom_20": …}`.
    let cuts: serde_json::Map<String, Value> = f
        .edge_cuts
        .iter()
        .map(|c| {
            (
                c.wire_key(),
                json!({"pdq": c.pdq.hash.to_hex(), "quality": c.pdq.quality}),
            )
        })
        .collect();
    json!({
        "path": crate::display(path),
        "kind": "image",
        "format": f.format,
        "md5": f.exact.md5,
        "sha256": f.exact.sha256,
        "pdq": f.pdq.hash.to_hex(),
        "quality": f.pdq.quality,
        "width": f.width,
        "height": f.height,
        "pdq_dihedral": {
            "original": d.original.to_hex(),
            "rotate90": d.rotate90.to_hex(),
            "rotate180": d.rotate180.to_hex(),
            "rotate270": d.rotate270.to_hex(),
            "flipx": d.flipx.to_hex(),
            "flipy": d.flipy.to_hex(),
            "flipplus1": d.flipplus1.to_hex(),
            "flipminus1": d.flipminus1.to_hex(),
        },
        "edge_cuts": cuts,
    })
}

fn text_line(v: &Value, dihedral: bool) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut line = format!(
        "{}  pdq={} quality={} md5={} sha256={} {}x{}",
        s("path"),
        s("pdq"),
        v["quality"],
        s("md5"),
        s("sha256"),
        v["width"],
        v["height"]
    );
    if v["quality"].as_u64().unwrap_or(0) < takedown_fingerprint::hashing::pdq::MIN_QUALITY as u64 {
        line.push_str("  (low quality: only exact copies can be found)");
    }
    if dihedral && let Some(d) = v.get("pdq_dihedral").and_then(Value::as_object) {
        for (k, h) in d {
            line.push_str(&format!("\n    {k}={}", h.as_str().unwrap_or("")));
        }
    }
    line
}

pub fn run(args: HashArgs) -> ExitCode {
    let inputs = collect(&args.paths);
    let opts = DecodeOptions::default();
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start worker threads: {e}");
            return ExitCode::from(2);
        }
    };
    let bar = if inputs.len() > 1 {
        let b =
            ProgressBar::with_draw_target(Some(inputs.len() as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files  {per_sec}  eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let stdout = std::io::stdout();
    let mut failed = 0usize;
    // Work in ordered chunks so output order follows input order while all cores hash.
    for chunk in inputs.chunks(64) {
        // Images in parallel; videos (None here) one at a time below, since ffmpeg
        // already uses every core and each shows its own progress.
        let results: Vec<(PathBuf, Option<Result<Value, String>>)> = pool.install(|| {
            chunk
                .par_iter()
                .map(|inp| {
                    let r = match inp {
                        Input::File(p) if crate::video::is_video(p) => (p.clone(), None),
                        Input::File(p) => (p.clone(), Some(hash_file(p, &opts))),
                        Input::Bad(p, why) => (p.clone(), Some(Err(why.clone()))),
                    };
                    if r.1.is_some() {
                        bar.inc(1);
                    }
                    r
                })
                .collect()
        });
        let results: Vec<(PathBuf, Result<Value, String>)> = results
            .into_iter()
            .map(|(p, r)| {
                let r = r.unwrap_or_else(|| {
                    let v = bar.suspend(|| crate::video::hash_video(&p));
                    bar.inc(1);
                    v
                });
                (p, r)
            })
            .collect();
        let mut out = stdout.lock();
        for (path, r) in results {
            let printed = match (&r, args.json) {
                (Ok(v), true) => writeln!(out, "{v}"),
                (Ok(v), false) if v["kind"] == "video" => {
                    writeln!(out, "{}", crate::video::text_line(v, args.frames))
                }
                (Ok(v), false) => writeln!(out, "{}", text_line(v, args.dihedral)),
                (Err(e), true) => writeln!(
                    out,
                    "{}",
                    json!({"path": crate::display(&path), "error": e})
                ),
                (Err(e), false) => {
                    bar.suspend(|| eprintln!("error: {}: {e}", crate::display(&path)));
                    Ok(())
                }
            };
            if r.is_err() {
                failed += 1;
            }
            if printed.is_err() {
                // stdout closed (e.g. piped into `head`): stop quietly.
                return ExitCode::from(if failed > 0 { 1 } else { 0 });
            }
        }
    }
    bar.finish_and_clear();
    if failed > 0 {
        if !args.json {
            eprintln!("{failed} of {} files failed", inputs.len());
        }
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
