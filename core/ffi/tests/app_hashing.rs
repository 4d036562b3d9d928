//! Hashing a selection through the exported object: every input kind, per-item
//! errors, low-quality flags, near-duplicate groups, progress and cancellation.

mod app_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use app_support::{Phone, PhoneFfi, fixture, photo_png};
use takedown_app::selection::{ItemErrorKind, MediaKind};
use takedown_core::{CancelToken, HashProgress, MediaInput, TakedownError};

struct CancelAfter {
    n: u32,
    handle: Arc<CancelToken>,
    seen: AtomicU32,
    calls: Mutex<Vec<u32>>,
}

impl HashProgress for CancelAfter {
    fn on_progress(&self, done: u32, _total: u32) {
        self.calls.lock().unwrap().push(done);
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.n {
            self.handle.cancel();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_the_work_with_cancelled() {
    let phone = Phone::new();
    let td = phone.open("http://127.0.0.1:9");
    let handle = CancelToken::new();
    let progress = Arc::new(CancelAfter {
        n: 2,
        handle: handle.clone(),
        seen: AtomicU32::new(0),
        calls: Mutex::new(Vec::new()),
    });
    let photo = photo_png(1, 1600, 1200);
    let items = (0..60)
        .map(|_| MediaInput::ImageBytes {
            bytes: photo.clone(),
        })
        .collect();
    let r = td
        .hash_selection(items, Some(progress.clone()), Some(handle.clone()))
        .await;
    assert!(matches!(r, Err(TakedownError::Cancelled)), "{r:?}");
    assert!(handle.is_cancelled());
    let calls = progress.calls.lock().unwrap().clone();
    assert!(
        calls.len() < 60,
        "stopped early after {} items",
        calls.len()
    );
    assert!(calls.windows(2).all(|w| w[0] < w[1]), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_kind_gives_a_result_or_a_clear_error() {
    let phone = Phone::new();
    let td = phone.open("http://127.0.0.1:9");
    let jpg = std::fs::read(fixture("scene.jpg")).unwrap();
    let png = std::fs::read(fixture("scene-320x240.png")).unwrap();
    let decoded = image::load_from_memory(&png).unwrap().to_rgba8();
    let (w, h) = decoded.dimensions();
    let frame = "f66666769989933e67819c6647c3799887637e6199c66709c49c9863669c738c".to_string();
    let video = |md5: Option<&str>, q: u8| MediaInput::Video {
        fingerprints: takedown_core_video(md5, &frame, q),
    };
    let missing = phone.dir.path().join("gone.jpg");
    let results = td
        .hash_selection(
            vec![
                MediaInput::ImageBytes { bytes: jpg.clone() },
                MediaInput::ImagePixels {
                    rgba: decoded.into_raw(),
                    width: w,
                    height: h,
                    stride: w * 4,
                    file_bytes: png.clone(),
                    original_width: w,
                    original_height: h,
                },
                MediaInput::ImageFile {
                    path: missing.display().to_string(),
                },
                MediaInput::ImagePixels {
                    rgba: vec![0; 16],
                    width: 100,
                    height: 100,
                    stride: 400,
                    file_bytes: png.clone(),
                    original_width: 100,
                    original_height: 100,
                },
                video(Some("0123456789abcdef0123456789abcdef"), 80),
                video(None, 80),
                video(Some("0123456789abcdef0123456789abcdef"), 10),
                MediaInput::ImageFile {
                    path: fixture("tiny-4x4.png").display().to_string(),
                },
            ],
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 8);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.index as usize, i);
        assert!(r.fingerprint.is_some() != r.error.is_some(), "{i}: {r:?}");
    }
    let jpg_fp = results[0].fingerprint.as_ref().unwrap();
    assert_eq!(jpg_fp.kind, MediaKind::Image);
    assert_eq!(jpg_fp.quality, Some(69), "reference quality of scene.jpg");
    let px = results[1].fingerprint.as_ref().unwrap();
    assert_eq!(
        px.pdq.as_deref(),
        Some("f66666769989933e67819c6647c3799887637e6199c66709c49c9863669c738c"),
        "RGBA pixels hash like the decoded file (reference value)"
    );
    assert_eq!(px.sha256.len(), 64);
    // The host's pixels give the same edge cuts as the fingerprint crate's own
    // decode of the file.
    let own = takedown_fingerprint::hashing::fingerprint_image_bytes(&png, &Default::default())
        .unwrap()
        .edge_cuts;
    assert_eq!(own.len(), 2);
    let cuts: Vec<(takedown_protocol::CutEdge, String, u8)> = px
        .edge_cuts
        .iter()
        .map(|c| (c.edge, c.pdq.clone(), c.quality))
        .collect();
    let expected: Vec<(takedown_protocol::CutEdge, String, u8)> = own
        .iter()
        .map(|c| (c.edge, c.pdq.hash.to_string(), c.pdq.quality))
        .collect();
    assert_eq!(cuts, expected);
    assert_eq!(jpg_fp.edge_cuts.len(), 2);
    assert_eq!(
        results[0].duplicate_group, results[1].duplicate_group,
        "same scene"
    );
    let e = results[2].error.as_ref().unwrap();
    assert_eq!(e.kind, ItemErrorKind::Unreadable);
    assert!(
        !e.reason.contains("gone.jpg"),
        "no file name in errors: {}",
        e.reason
    );
    assert_eq!(
        results[3].error.as_ref().unwrap().kind,
        ItemErrorKind::InvalidMedia
    );
    let v = results[4].fingerprint.as_ref().unwrap();
    assert_eq!(v.kind, MediaKind::Video);
    assert!(!v.low_quality);
    assert_eq!(v.frames.len(), 1);
    assert_eq!(results[4].duplicate_group, None);
    assert_eq!(
        results[5].error.as_ref().unwrap().kind,
        ItemErrorKind::IncompleteFingerprint
    );
    assert!(results[6].fingerprint.as_ref().unwrap().low_quality);
    assert!(
        results[7].fingerprint.as_ref().unwrap().low_quality,
        "tiny image: quality 0"
    );
}

/// What `VideoHasher.finish()` returns, built by hand.
fn takedown_core_video(md5: Option<&str>, pdq: &str, quality: u8) -> takedown_core::PushedVideo {
    takedown_core::PushedVideo {
        md5: md5.map(String::from),
        sha256: md5.map(|_| "ab".repeat(32)),
        frames: vec![takedown_core::VideoFrameHash {
            t: 0.0,
            pdq: pdq.to_string(),
            quality,
        }],
        usable_frames: u32::from(quality >= 50),
        frames_pushed: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_pushed_frame_by_frame_is_hashed_and_submitted_with_a_picture() {
    let ok = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TAKEDOWN_REQUIRE_FFMPEG").is_none(),
            "ffmpeg is required (TAKEDOWN_REQUIRE_FFMPEG) but absent"
        );
        app_support::skip(
            "a_video_pushed_frame_by_frame_is_hashed_and_submitted_with_a_picture",
            "no ffmpeg",
        );
        return;
    }
    let svc = app_support::Service::start().await;
    let phone = Phone::new();
    let video = phone.dir.path().join("clip.mp4");
    let st = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-t",
            "3",
        ])
        .args(["-pix_fmt", "yuv420p", "-y"])
        .arg(&video)
        .status()
        .unwrap();
    assert!(st.success());
    // What a phone does: decode frames itself (here ffmpeg stands in for
    // MediaCodec / AVAssetReader), push them and the file bytes into a
    // VideoHasher, and hand the result over as `MediaInput::Video`.
    let (w, h, rate) = (160u32, 120u32, 10u32);
    let raw = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&video)
        .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .unwrap();
    assert!(raw.status.success());
    let frame_len = (w * h * 4) as usize;
    assert_eq!(raw.stdout.len() % frame_len, 0);
    let hasher = takedown_core::VideoHasher::new(Default::default()).unwrap();
    let mut hashed = 0;
    for (i, px) in raw.stdout.chunks(frame_len).enumerate() {
        let t_us = i as u64 * 1_000_000 / rate as u64;
        if hasher.wants(t_us)
            && hasher
                .push_rgba_frame(px.to_vec(), w, h, w * 4, t_us)
                .unwrap()
        {
            hashed += 1;
        }
    }
    let bytes = std::fs::read(&video).unwrap();
    for chunk in bytes.chunks(4096) {
        hasher.push_file_bytes(chunk.to_vec()).unwrap();
    }
    let pushed = hasher.finish().unwrap();
    assert_eq!(hashed, 3, "one frame per second of a 3 s clip");
    // The same fingerprints as the desktop's own decode of the file (takedown-app,
    // which the phone API no longer exposes by path).
    let desktop = takedown_app::selection::hash_selection(
        vec![takedown_app::selection::SelectionInput::VideoFile(
            video.display().to_string(),
        )],
        &|_, _| {},
        &Default::default(),
    )
    .unwrap()
    .remove(0)
    .fingerprint
    .unwrap();
    assert_eq!(pushed.md5.as_deref(), Some(desktop.md5.to_hex().as_str()));
    assert_eq!(
        pushed.sha256.as_deref(),
        Some(desktop.sha256.to_hex().as_str())
    );
    assert_eq!(pushed.frames.len(), desktop.frames.len());
    for (p, d) in pushed.frames.iter().zip(&desktop.frames) {
        assert_eq!(p.t, d.t);
        let dist = takedown_core::pdq_distance(p.pdq.clone(), d.pdq.to_hex()).unwrap();
        assert!(
            dist <= 8,
            "pushed frame at {} is {dist} bits from the desktop decode",
            p.t
        );
    }
    let td = phone.open(&svc.url);
    let res = td
        .hash_selection(
            vec![
                MediaInput::Video {
                    fingerprints: pushed.clone(),
                },
                MediaInput::ImageBytes {
                    bytes: photo_png(9, 320, 240),
                },
            ],
            None,
            None,
        )
        .await
        .unwrap();
    let v = res[0].fingerprint.clone().expect("video");
    assert_eq!(v.kind, MediaKind::Video);
    assert_eq!(v.md5, pushed.md5.clone().unwrap());
    assert_eq!(v.sha256, pushed.sha256.clone().unwrap());
    assert_eq!(v.frames.len(), 3);
    for (a, b) in v.frames.iter().zip(&pushed.frames) {
        assert_eq!((a.t, &a.pdq, a.quality), (b.t, &b.pdq, b.quality));
    }
    assert!(!v.low_quality);
    let items = res
        .into_iter()
        .map(|r| takedown_core::SubmitItem {
            fingerprint: r.fingerprint.unwrap(),
            label: None,
        })
        .collect();
    let out = td
        .submit_case(
            "r-video".into(),
            takedown_app::eligibility::EligibilityAnswers {
                age_when_made: takedown_app::eligibility::AgeWhenMade::Under18,
                submitter: takedown_app::eligibility::SubmitterRole::PersonShown,
            },
            items,
            None,
        )
        .await
        .unwrap();
    assert!(out.sent);
    assert_eq!(svc.items(), 2);
    let listed = td.list_items(None).unwrap();
    assert_eq!(listed[0].kind, MediaKind::Video);
    assert_eq!(listed[0].frame_count as usize, v.frames.len());
    assert_eq!(listed[0].md5.as_deref(), Some(v.md5.as_str()));
    assert_eq!(
        listed[0].state,
        takedown_app::history::HistoryItemState::Active
    );
    assert!(!listed[0].low_quality);
}
