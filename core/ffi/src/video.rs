//! Video exports: a [`VideoHasher`] the host pushes decoded frames into (phones), and
//! the vPDQ match rule. Thin wrappers over [`takedown_fingerprint::video`].

use std::sync::{Arc, Mutex};

use takedown_fingerprint::hashing::pdq::{Pdq, PdqHash};
use takedown_fingerprint::video::{
    self, CancelToken, PushHasher, VideoError, VpdqFrame, VpdqOptions, usable_frame_count,
};

use crate::error::{TakedownError, guarded};

/// Options of a [`VideoHasher`].
#[derive(Debug, Clone, uniffi::Record)]
pub struct VideoHasherOptions {
    /// Seconds between hashed frames: 1.0 is the standard (reference) rate; 0 hashes
    /// every pushed frame.
    #[uniffi(default = 1.0)]
    pub seconds_per_hash: f64,
    /// The video's duration if the app knows it (milliseconds): enables progress
    /// fractions and refuses over-long videos before any frame is decoded.
    #[uniffi(default = None)]
    pub expected_duration_ms: Option<u64>,
    /// Longest accepted video (milliseconds); default two hours, the service's limit.
    #[uniffi(default = 7200000)]
    pub max_duration_ms: u64,
    /// Most frames hashed; default 7200, the service's limit.
    #[uniffi(default = 7200)]
    pub max_frames: u32,
}

impl Default for VideoHasherOptions {
    fn default() -> Self {
        VideoHasherOptions {
            seconds_per_hash: 1.0,
            expected_duration_ms: None,
            max_duration_ms: (video::DEFAULT_MAX_DURATION_SECS * 1000.0) as u64,
            max_frames: video::DEFAULT_MAX_HASHED_FRAMES as u32,
        }
    }
}

/// How far a [`VideoHasher`] has got.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VideoProgress {
    /// Frames pushed so far (hashed or skipped).
    pub frames_pushed: u64,
    /// Frames hashed so far.
    pub frames_hashed: u64,
    /// Timestamp of the latest frame, milliseconds.
    pub position_ms: u64,
    /// 0.0–1.0 when the expected duration was given.
    pub fraction: Option<f64>,
}

/// One vPDQ frame: what the service stores for a video.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VideoFrameHash {
    /// Seconds from the start.
    pub t: f64,
    /// PDQ hash, 64 lowercase hex digits.
    pub pdq: String,
    /// PDQ quality 0–100; frames below 50 are ignored by matching.
    pub quality: u8,
}

/// The fingerprints of a video the app pushed into a [`VideoHasher`].
#[derive(Debug, Clone, uniffi::Record)]
pub struct PushedVideo {
    /// MD5 of the file bytes (32 hex digits), if the app pushed them.
    pub md5: Option<String>,
    /// SHA-256 of the file bytes (64 hex digits), if the app pushed them.
    pub sha256: Option<String>,
    /// vPDQ frames in order (exact-duplicate consecutive hashes collapsed).
    pub frames: Vec<VideoFrameHash>,
    /// Frames of quality ≥ 50. When 0, only exact copies can be found: tell the user.
    pub usable_frames: u32,
    /// Frames the app pushed.
    pub frames_pushed: u64,
}

/// Hashes a video from frames the app decodes (Android `MediaCodec` or
/// `MediaMetadataRetriever`, iOS `AVAssetImageGenerator`).
///
/// Push frames in presentation order, as stored in the file (do not apply the track
/// rotation). By default one frame per second is hashed: the first frame at or after
/// each whole second. Apps that decode every frame can ask [`VideoHasher::wants`]
/// before converting one; apps that seek can ask
/// [`VideoHasher::next_wanted_timestamp_us`]. Optionally push the file's bytes in
/// chunks for MD5/SHA-256. Then call [`VideoHasher::finish`].
///
/// Thread-safe: [`VideoHasher::cancel`] and [`VideoHasher::progress`] may be called
/// from another thread while frames are pushed.
#[derive(uniffi::Object)]
pub struct VideoHasher {
    inner: Mutex<PushHasher>,
    cancel: CancelToken,
}

impl VideoHasher {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut PushHasher) -> Result<T, VideoError>,
    ) -> Result<T, TakedownError> {
        guarded(|| {
            let mut inner = self
                .inner
                .lock()
                .map_err(|_| VideoError::Io("the video hasher is unusable".into()))?;
            f(&mut inner)
        })
    }
}

fn us_to_secs(us: u64) -> f64 {
    us as f64 / 1_000_000.0
}

#[uniffi::export]
impl VideoHasher {
    /// A hashing session. Fails with `LimitExceeded` when `expected_duration_ms` is
    /// over the limit, `InvalidInput` for inconsistent options.
    #[uniffi::constructor]
    pub fn new(options: VideoHasherOptions) -> Result<Arc<Self>, TakedownError> {
        guarded(|| {
            let mut opts = VpdqOptions {
                seconds_per_hash: options.seconds_per_hash,
                ..VpdqOptions::default()
            };
            opts.limits.max_duration_secs = options.max_duration_ms as f64 / 1000.0;
            opts.limits.max_hashed_frames = options.max_frames as usize;
            let cancel = CancelToken::new();
            let expected = options.expected_duration_ms.map(|ms| ms as f64 / 1000.0);
            let inner = PushHasher::new(opts, expected, cancel.clone())?;
            Ok::<_, VideoError>(Arc::new(VideoHasher {
                inner: Mutex::new(inner),
                cancel,
            }))
        })
    }

    /// Push one RGBA frame (4 bytes per pixel, R G B A; alpha ignored) of
    /// `width` × `height` pixels, rows `stride` bytes apart (`width * 4` when
    /// packed), at `timestamp_us` microseconds. Returns whether it was hashed.
    pub fn push_rgba_frame(
        &self,
        pixels: Vec<u8>,
        width: u32,
        height: u32,
        stride: u32,
        timestamp_us: u64,
    ) -> Result<bool, TakedownError> {
        self.with(|h| {
            h.push_frame(
                &pixels,
                width,
                height,
                4,
                stride as usize,
                us_to_secs(timestamp_us),
            )
        })
    }

    /// Whether a frame at `timestamp_us` would be hashed; skip converting it if not.
    pub fn wants(&self, timestamp_us: u64) -> bool {
        self.with(|h| Ok(h.wants(us_to_secs(timestamp_us))))
            .unwrap_or(false)
    }

    /// The earliest timestamp (microseconds) of the next frame that will be hashed,
    /// for apps that seek (`MediaMetadataRetriever.getFrameAtTime`).
    pub fn next_wanted_timestamp_us(&self) -> Option<u64> {
        self.with(|h| Ok(h.next_wanted_timestamp()))
            .ok()
            .flatten()
            .map(|s| (s * 1_000_000.0).round() as u64)
    }

    /// Feed the next chunk of the video file (in order) for MD5 and SHA-256.
    pub fn push_file_bytes(&self, chunk: Vec<u8>) -> Result<(), TakedownError> {
        self.with(|h| h.push_file_bytes(&chunk))
    }

    /// Progress so far.
    pub fn progress(&self) -> VideoProgress {
        let p = self.with(|h| Ok(h.progress())).unwrap_or_default();
        VideoProgress {
            frames_pushed: p.frames_seen,
            frames_hashed: p.frames_hashed,
            position_ms: (p.position_secs * 1000.0).round() as u64,
            fraction: p.fraction(),
        }
    }

    /// Stop: the current or next push and `finish` fail with `Cancelled`. Safe to
    /// call from any thread, any number of times.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// End the session and return the fingerprints. Fails with `InvalidMedia` when
    /// no frame was pushed, `Cancelled` after [`VideoHasher::cancel`].
    pub fn finish(&self) -> Result<PushedVideo, TakedownError> {
        let out = self.with(PushHasher::finish)?;
        let usable = usable_frame_count(out.frames.iter().map(|f| f.pdq.quality)) as u32;
        Ok(PushedVideo {
            md5: out.exact.as_ref().map(|e| e.md5.clone()),
            sha256: out.exact.map(|e| e.sha256),
            frames: out.frames.iter().map(frame_record).collect(),
            usable_frames: usable,
            frames_pushed: out.frames_pushed,
        })
    }
}

fn frame_record(f: &VpdqFrame) -> VideoFrameHash {
    VideoFrameHash {
        t: f.t,
        pdq: f.pdq.hash.to_hex(),
        quality: f.pdq.quality,
    }
}

/// The result of comparing two videos.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VideoMatchResult {
    /// Percentage of the query's usable frames matching some frame of the other video.
    pub query_matched_percent: f64,
    /// Percentage of the other video's usable frames matching some query frame.
    pub compared_matched_percent: f64,
    /// Whether the videos match (≥ 80 % of the query's frames).
    pub is_match: bool,
}

/// Compare two videos' vPDQ frames with Meta's rule (quality ≥ 50, distance ≤ 31,
/// ≥ 80 % of the query's frames). Fails with `InvalidInput` on a malformed hash.
#[uniffi::export]
pub fn compare_videos(
    query: Vec<VideoFrameHash>,
    compared: Vec<VideoFrameHash>,
) -> Result<VideoMatchResult, TakedownError> {
    guarded(|| {
        let parse = |frames: &[VideoFrameHash]| -> Result<Vec<VpdqFrame>, VideoError> {
            frames
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let hash = PdqHash::from_hex(&f.pdq)
                        .map_err(|e| VideoError::BadOption(format!("frame {i}: {e}")))?;
                    Ok(VpdqFrame {
                        number: i as u64,
                        t: f.t,
                        pdq: Pdq {
                            hash,
                            quality: f.quality,
                        },
                    })
                })
                .collect()
        };
        let m = video::match_videos(&parse(&query)?, &parse(&compared)?);
        Ok::<_, VideoError>(VideoMatchResult {
            query_matched_percent: m.query_matched_percent,
            compared_matched_percent: m.compared_matched_percent,
            is_match: m.is_match,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, seed: u32) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    ((x * 7 + seed * 31) % 256) as u8,
                    ((y * 5 + x * seed) % 256) as u8,
                    ((x ^ y) % 256) as u8,
                    255,
                ]
            })
            .collect()
    }

    #[test]
    fn push_session_through_the_ffi_surface() {
        let h = VideoHasher::new(VideoHasherOptions {
            expected_duration_ms: Some(2_000),
            ..Default::default()
        })
        .unwrap();
        h.push_file_bytes(b"abc".to_vec()).unwrap();
        let mut hashed = 0;
        for i in 0..60u64 {
            let t = i * 33_333;
            if h.wants(t) {
                assert!(
                    h.push_rgba_frame(frame(48, 32, (i / 30) as u32), 48, 32, 192, t)
                        .unwrap()
                );
                hashed += 1;
            }
        }
        assert_eq!(hashed, 2);
        assert_eq!(h.next_wanted_timestamp_us(), Some(2_000_000));
        let p = h.progress();
        assert_eq!((p.frames_pushed, p.frames_hashed), (2, 2));
        assert!(p.fraction.is_some());
        let out = h.finish().unwrap();
        assert_eq!(out.md5.as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(out.frames.len(), 2);
        let all = compare_videos(out.frames.clone(), out.frames.clone()).unwrap();
        assert_eq!(all.is_match, out.usable_frames > 0);
        assert!(matches!(
            h.finish(),
            Err(TakedownError::InvalidInput { .. })
        ));
    }

    #[test]
    fn errors_map_to_what_the_app_acts_on() {
        let h = VideoHasher::new(VideoHasherOptions::default()).unwrap();
        assert!(matches!(
            h.push_rgba_frame(vec![0; 10], 48, 32, 192, 0),
            Err(TakedownError::InvalidInput { .. })
        ));
        assert!(matches!(
            h.finish(),
            Err(TakedownError::InvalidMedia { .. })
        ));
        let long = VideoHasher::new(VideoHasherOptions {
            expected_duration_ms: Some(10 * 3600 * 1000),
            ..Default::default()
        });
        assert!(matches!(long, Err(TakedownError::LimitExceeded { .. })));
        let h = VideoHasher::new(VideoHasherOptions::default()).unwrap();
        h.cancel();
        assert!(matches!(
            h.push_rgba_frame(frame(8, 8, 0), 8, 8, 32, 0),
            Err(TakedownError::Cancelled)
        ));
        assert!(matches!(
            compare_videos(
                vec![VideoFrameHash {
                    t: 0.0,
                    pdq: "xyz".into(),
                    quality: 100
                }],
                vec![]
            ),
            Err(TakedownError::InvalidInput { .. })
        ));
    }
}
