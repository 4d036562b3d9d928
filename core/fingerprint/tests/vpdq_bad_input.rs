//! Bad video input gives a clear error or a capped result — never a hang, a crash,
//! unbounded memory, or a file name in a message.
mod vpdq_common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use takedown_fingerprint::video::{
    self, CancelToken, VideoError, VideoLimits, VpdqOptions, ffmpeg::FfmpegSource,
    fingerprint_video_file,
};
use vpdq_common::{ffmpeg, require_ffmpeg, vpdq_dir};

/// A name that must never appear in an error message.
const SECRET: &str = "secret-name-of-a-teen";

fn fingerprint(path: &Path, opts: &VpdqOptions) -> Result<video::VideoFingerprint, VideoError> {
    let start = Instant::now();
    let r = fingerprint_video_file(path, opts, &CancelToken::new(), &mut |_| {});
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
    if let Err(e) = &r {
        let msg = e.to_string();
        assert!(!msg.contains(SECRET), "the file name leaked: {msg}");
        assert!(!msg.contains("/tmp"), "a path leaked: {msg}");
    }
    r
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(format!("{SECRET}-{name}"));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A small real clip (3 s, 160x120, 30 fps; moov at the end as ffmpeg writes it).
fn clip(dir: &Path) -> PathBuf {
    let p = dir.join(format!("{SECRET}-clip.mp4"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=3:s=160x120:r=30",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        p.to_str().unwrap(),
    ]);
    p
}

fn find(d: &[u8], tag: &[u8; 4]) -> usize {
    d.windows(4).position(|w| w == tag).expect("box present")
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(d[at..at + 4].try_into().unwrap())
}

#[test]
fn damaged_and_empty_files_are_clear_errors() {
    if !require_ffmpeg("damaged_and_empty_files_are_clear_errors") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let opts = VpdqOptions::default();

    // Empty file.
    let e = fingerprint(&write(tmp.path(), "empty.mp4", b""), &opts).unwrap_err();
    assert!(matches!(e, VideoError::Unreadable(_)), "{e:?}");

    // Not a video at all.
    let e = fingerprint(&write(tmp.path(), "notes.mp4", b"just some text\n"), &opts).unwrap_err();
    assert!(matches!(e, VideoError::Unreadable(_)), "{e:?}");

    // Truncated mp4 whose index (moov) was at the end: nothing to decode.
    let whole = std::fs::read(clip(tmp.path())).unwrap();
    assert!(find(&whole, b"moov") > find(&whole, b"mdat"));
    let e = fingerprint(
        &write(tmp.path(), "cut.mp4", &whole[..whole.len() / 2]),
        &opts,
    )
    .unwrap_err();
    match &e {
        VideoError::Unreadable(m) => assert!(
            m.contains("moov atom not found") || m.contains("Invalid data"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }

    // Audio only: no video stream.
    let audio = tmp.path().join(format!("{SECRET}-audio.m4a"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=d=1",
        "-c:a",
        "aac",
        audio.to_str().unwrap(),
    ]);
    assert_eq!(
        fingerprint(&audio, &opts).unwrap_err(),
        VideoError::NoVideoStream
    );

    // Zero frames: an mp4 written with no frame has no video stream; a Y4M header
    // with no frame has a stream and no frames.
    let zero = tmp.path().join(format!("{SECRET}-zero.mp4"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=d=1:s=64x48",
        "-frames:v",
        "0",
        "-c:v",
        "libx264",
        zero.to_str().unwrap(),
    ]);
    assert_eq!(
        fingerprint(&zero, &opts).unwrap_err(),
        VideoError::NoVideoStream
    );
    let header_only = write(
        tmp.path(),
        "noframes.y4m",
        b"YUV4MPEG2 W64 H48 F30:1 Ip A1:1 C420jpeg\n",
    );
    assert_eq!(
        fingerprint(&header_only, &opts).unwrap_err(),
        VideoError::NoFrames
    );

    // Odd path characters are not read as URLs or options.
    let odd = tmp.path().join("-i x:y|concat.mp4");
    std::fs::copy(tmp.path().join(format!("{SECRET}-clip.mp4")), &odd).unwrap();
    let ok = fingerprint(&odd, &opts).unwrap();
    assert_eq!(ok.frames.len(), 3);
    assert!(ok.damage.is_none());
}

#[test]
fn truncated_data_gives_the_decodable_frames_and_says_so() {
    let Some(dir) = vpdq_dir("truncated_data_gives_the_decodable_frames_and_says_so") else {
        return;
    };
    if !require_ffmpeg("truncated_data_gives_the_decodable_frames_and_says_so") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // This sample has its index first: a third of the file decodes part of the video.
    let whole = std::fs::read(dir.join("sample-videos/doorknob-hd-no-bar.mp4")).unwrap();
    assert!(find(&whole, b"moov") < find(&whole, b"mdat"));
    let full = fingerprint(
        &write(tmp.path(), "whole.mp4", &whole),
        &VpdqOptions::every_frame(),
    )
    .unwrap();
    let cut = write(tmp.path(), "third.mp4", &whole[..whole.len() / 3]);
    let part = fingerprint(&cut, &VpdqOptions::every_frame()).unwrap();
    assert!(!part.frames.is_empty() && part.frames.len() < full.frames.len());
    let damage = part.damage.expect("the damage is reported");
    assert!(!damage.contains(SECRET), "{damage}");
    eprintln!(
        "truncated: {} of {} frames, decoder said: {damage}",
        part.frames.len(),
        full.frames.len()
    );
    // The frames it has are the original's.
    // The frames it has are the original's (but the last few, which may be
    // partially decoded, and the dark ones of quality < 50).
    let n = part.frames.len();
    for (a, b) in part.frames[..n - 3].iter().zip(&full.frames) {
        assert_eq!(a.number, b.number);
        if b.pdq.quality >= 50 {
            assert!(a.pdq.hash.distance(&b.pdq.hash) <= 8, "frame {}", a.number);
        }
    }
    assert_ne!(part.exact, full.exact);
}

#[test]
fn absurd_dimensions_are_refused_before_decoding() {
    if !require_ffmpeg("absurd_dimensions_are_refused_before_decoding") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let opts = VpdqOptions::default();
    // 8000x6000 = 48 MP > 40 MP; 17000 px > 16384 px per side. Each file claims a
    // huge frame but holds 3 bytes.
    for header in ["W8000 H6000", "W17000 H100"] {
        let y4m = format!("YUV4MPEG2 {header} F30:1 Ip A1:1 C420jpeg\nFRAME\nabc");
        let e = fingerprint(&write(tmp.path(), "huge.y4m", y4m.as_bytes()), &opts).unwrap_err();
        assert!(
            matches!(e, VideoError::BadDimensions { .. }),
            "{header}: {e:?}"
        );
    }
    // 100000x100000: ffprobe itself refuses it.
    let y4m = "YUV4MPEG2 W100000 H100000 F30:1 Ip A1:1 C420jpeg\nFRAME\nabc";
    let e = fingerprint(&write(tmp.path(), "absurd.y4m", y4m.as_bytes()), &opts).unwrap_err();
    assert!(
        matches!(
            e,
            VideoError::Unreadable(_) | VideoError::BadDimensions { .. }
        ),
        "{e:?}"
    );
}

#[test]
fn ten_hour_headers_are_capped() {
    let Some(dir) = vpdq_dir("ten_hour_headers_are_capped") else {
        return;
    };
    if !require_ffmpeg("ten_hour_headers_are_capped") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let opts = VpdqOptions::default();
    let orig = std::fs::read(dir.join("sample-videos/doorknob-hd-no-bar.mp4")).unwrap();

    // Durations in the headers (mvhd, tkhd, mdhd) say 10 hours; the frames say 4 s.
    // Decoding goes by the frames: a 4-frame result.
    let mut d = orig.clone();
    let mvhd = find(&d, b"mvhd");
    let movie_scale = be32(&d, mvhd + 16);
    d[mvhd + 20..mvhd + 24].copy_from_slice(&(movie_scale * 36_000).to_be_bytes());
    let tkhd = find(&d, b"tkhd");
    d[tkhd + 24..tkhd + 28].copy_from_slice(&(movie_scale * 36_000).to_be_bytes());
    let mdhd = find(&d, b"mdhd");
    let track_scale = be32(&d, mdhd + 16);
    d[mdhd + 20..mdhd + 24].copy_from_slice(&(track_scale * 36_000).to_be_bytes());
    match fingerprint(&write(tmp.path(), "header10h.mp4", &d), &opts) {
        Ok(f) => assert!(f.frames.len() <= 5, "{} frames", f.frames.len()),
        Err(e) => assert!(matches!(e, VideoError::TooLong { .. }), "{e:?}"),
    }

    // The sample table spreads the 120 frames over 10 hours (300 s each): refused
    // (the declared or the reached duration passes the 2-hour limit), without
    // decoding the rest.
    let mut d = orig.clone();
    let stts = find(&d, b"stts");
    let entries = be32(&d, stts + 8) as usize;
    for k in 0..entries {
        let at = stts + 12 + 8 * k + 4;
        d[at..at + 4].copy_from_slice(&(track_scale * 300).to_be_bytes());
    }
    // The edit list would otherwise cut the presentation to the 4 s of the header.
    let elst = find(&d, b"elst");
    assert_eq!(d[elst + 4], 0, "version 0 edit list");
    d[elst + 12..elst + 16].copy_from_slice(&(movie_scale * 36_000).to_be_bytes());
    let e = fingerprint(&write(tmp.path(), "stts10h.mp4", &d), &opts).unwrap_err();
    assert!(matches!(e, VideoError::TooLong { .. }), "{e:?}");

    // And a declared duration over the limit is refused up front.
    let mut short = opts.clone();
    short.limits.max_duration_secs = 2.0;
    let e = fingerprint(&dir.join("sample-videos/doorknob-hd-no-bar.mp4"), &short).unwrap_err();
    assert!(
        matches!(e, VideoError::TooLong { seconds, .. } if seconds == 4.0),
        "{e:?}"
    );
}

#[test]
fn frame_cap_cancel_and_stall_stop_ffmpeg() {
    if !require_ffmpeg("frame_cap_cancel_and_stall_stop_ffmpeg") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let clip = clip(tmp.path());

    // More frames than allowed.
    let mut opts = VpdqOptions::every_frame();
    opts.limits.max_hashed_frames = 10;
    let e = fingerprint(&clip, &opts).unwrap_err();
    assert_eq!(e, VideoError::TooManyFrames { limit: 10 });

    // Cancelled from the progress callback after the first frame.
    let cancel = CancelToken::new();
    let start = Instant::now();
    let c = cancel.clone();
    let e = fingerprint_video_file(&clip, &VpdqOptions::every_frame(), &cancel, &mut |p| {
        if p.frames_hashed == 1 {
            c.cancel();
        }
    })
    .unwrap_err();
    assert_eq!(e, VideoError::Cancelled);
    assert!(start.elapsed() < Duration::from_secs(10));

    // A FIFO nobody writes to: ffprobe blocks opening it; the stall timeout kills it.
    let fifo = tmp.path().join(format!("{SECRET}.fifo"));
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let limits = VideoLimits {
            stall_timeout: Duration::from_millis(800),
            ..VideoLimits::default()
        };
        let start = Instant::now();
        let e = FfmpegSource::open(&fifo, &limits, &CancelToken::new()).err();
        assert_eq!(e, Some(VideoError::Stalled));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    } else {
        eprintln!("mkfifo unavailable: stall case not run");
    }
}

#[test]
fn exact_hashes_are_of_the_file_bytes() {
    if !require_ffmpeg("exact_hashes_are_of_the_file_bytes") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let clip = clip(tmp.path());
    let f = fingerprint(&clip, &VpdqOptions::default()).unwrap();
    let bytes = std::fs::read(&clip).unwrap();
    assert_eq!(
        f.exact,
        takedown_fingerprint::hashing::exact::hash_bytes(&bytes)
    );
    assert_eq!((f.info.width, f.info.height), (160, 120));
    assert_eq!(f.info.fps, 30.0);
    // One frame per second of a 3 s clip: frames 0, 30, 60 at 0, 1, 2 s.
    let ts: Vec<f64> = f.frames.iter().map(|x| x.t).collect();
    assert_eq!(ts, vec![0.0, 1.0, 2.0]);
}
