//! The vPDQ match rule on real videos: each sample matches itself and its re-encodes
//! (lower bitrate, scaled to 640 px, first 2 s cut — made here with ffmpeg), and
//! never a sample of other content. Variants within a family (sepia, grey bar, logo
//! bar, other resolution) are reported.
mod vpdq_common;

use std::collections::BTreeMap;
use std::path::Path;
use takedown_fingerprint::hashing::pdq::{Pdq, PdqHash};
use takedown_fingerprint::video::{VpdqFrame, VpdqOptions, frame_step, match_videos};
use vpdq_common::{ffmpeg, hash_file, read_sample_hashes, setup};

fn family(name: &str) -> &str {
    name.split('-').next().unwrap_or(name)
}

/// The reference's own 1-per-second selection from its per-frame sample hashes
/// (every ⌊fps⌋-th frame; all samples are 30 fps).
fn reference_selection(path: &Path) -> Vec<VpdqFrame> {
    let step = frame_step(1.0, 30.0);
    read_sample_hashes(path)
        .into_iter()
        .filter(|r| r.frame % step == 0)
        .map(|r| VpdqFrame {
            number: r.frame,
            t: r.t,
            pdq: Pdq {
                hash: PdqHash::from_hex(&r.hash).unwrap(),
                quality: r.quality,
            },
        })
        .collect()
}

/// Overall bitrate in bits per second, from ffprobe.
fn bitrate(video: &Path) -> u64 {
    let out = std::process::Command::new(takedown_fingerprint::video::ffmpeg::ffprobe_program())
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=bit_rate",
            "-of",
            "csv=p=0",
        ])
        .arg(video)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a bitrate")
}

#[test]
fn samples_match_their_reencodes_and_never_other_content() {
    let Some(dir) = setup("samples_match_their_reencodes_and_never_other_content") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut videos: Vec<_> = std::fs::read_dir(dir.join("sample-videos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    videos.sort();
    let opts = VpdqOptions::default();
    let longer_side_640 = "scale='if(gt(iw,ih),640,-2)':'if(gt(iw,ih),-2,640)'";
    let variants = ["low bitrate", "640 px", "cut 2 s"];

    let mut originals: BTreeMap<String, Vec<VpdqFrame>> = BTreeMap::new();
    let mut failures = vec![];
    for video in &videos {
        let name = video.file_stem().unwrap().to_string_lossy().into_owned();
        let original = hash_file(video, &opts);
        let own = match_videos(&original, &original);
        assert!(
            own.is_match && own.query_matched_percent == 100.0,
            "{name} does not match itself: {own:?}"
        );
        // Half the source's bitrate.
        let quarter = format!("{}", bitrate(video) / 2);
        for label in variants {
            let out = tmp
                .path()
                .join(format!("{name}-{}.mp4", label.replace(' ', "_")));
            let mut cmd: Vec<&str> = vec![];
            match label {
                // Input seeking, re-encoded: frame-accurate.
                "cut 2 s" => cmd.extend(["-ss", "2", "-i", video.to_str().unwrap()]),
                "640 px" => cmd.extend(["-i", video.to_str().unwrap(), "-vf", longer_side_640]),
                _ => cmd.extend(["-i", video.to_str().unwrap(), "-b:v", &quarter]),
            }
            // ultrafast keeps the test quick; at half the bitrate its rate control
            // smears the synthetic test pattern, so that variant uses veryfast.
            let preset = if label == "low bitrate" {
                "veryfast"
            } else {
                "ultrafast"
            };
            // 12 s of each re-encode is plenty for a query and keeps the test quick.
            cmd.extend(["-t", "12", "-an", "-c:v", "libx264", "-preset", preset]);
            cmd.push(out.to_str().unwrap());
            ffmpeg(&cmd);
            let reencoded = hash_file(&out, &opts);
            let m = match_videos(&reencoded, &original);
            eprintln!(
                "{name:32} {label:12} query {:5.1} %  compared {:5.1} %  ({} / {} frames)",
                m.query_matched_percent,
                m.compared_matched_percent,
                m.query_frames,
                m.compared_frames
            );
            if m.query_frames == 0 {
                // Nothing of quality ≥ 50 left (doorknob's last 2 s are dark): only
                // the exact hashes can find such a copy, which the app tells the user.
                eprintln!("{:46} no usable frame left: not matchable by vPDQ", "");
            } else if !m.is_match {
                failures.push(format!("{name} / {label}: {m:?}"));
            }
        }
        originals.insert(name, original);
    }

    // Other content never matches, in either direction.
    for (a, fa) in &originals {
        for (b, fb) in &originals {
            if family(a) == family(b) {
                continue;
            }
            let m = match_videos(fa, fb);
            if m.is_match || m.query_matched_percent > 20.0 {
                failures.push(format!("{a} vs {b} (other content): {m:?}"));
            }
        }
    }

    // Within families, against the reference's own lists of every sample (including
    // the variants whose video is not in the snapshot): report, and cross-family none.
    let mut refs: Vec<_> = std::fs::read_dir(dir.join("sample-hashes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "txt")
                && !p.to_string_lossy().ends_with("-128x128.txt")
        })
        .collect();
    refs.sort();
    eprintln!("\nours (query) vs reference lists (compared): query % matched, [match]");
    for (a, fa) in &originals {
        for r in &refs {
            let b = r.file_stem().unwrap().to_string_lossy().into_owned();
            let m = match_videos(fa, &reference_selection(r));
            if family(a) == family(&b) {
                if a != &b {
                    eprintln!(
                        "  {a:32} vs {b:32} {:5.1} % {}",
                        m.query_matched_percent,
                        if m.is_match { "match" } else { "no match" }
                    );
                } else if !m.is_match {
                    failures.push(format!(
                        "{a} does not match the reference's hashes of itself: {m:?}"
                    ));
                }
            } else if m.is_match || m.query_matched_percent > 20.0 {
                failures.push(format!("{a} vs reference {b} (other content): {m:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
