//! Video fingerprints: vPDQ (PDQ of about one frame per second, with timestamps and
//! quality) plus MD5 and SHA-256 of the file.
//!
//! * [`FrameSource`] — where decoded frames come from. Hashing does not care:
//!   [`ffmpeg::FfmpegSource`] pipes frames out of the `ffmpeg` binary (desktop, CLI,
//!   tests); on phones the host pushes frames it decoded itself into a
//!   [`VpdqHasher`] (through `ffi::video`).
//! * [`VpdqHasher`] — the push-based core: frame selection (every ⌊fps · seconds per
//!   hash⌋-th decoded frame, as the reference; or by timestamp for host-pushed frames),
//!   PDQ per kept frame, collapsing of exact-duplicate consecutive hashes, caps on
//!   frames and duration, progress and cancellation.
//! * [`matching`] — the vPDQ match rule (quality ≥ 50, distance ≤ 31, ≥ 80 % of the
//!   query's frames).
//!
//! Decisions and measurements: `docs/adr/0200-vpdq.md`.
//!
//! Errors and logs never contain file names, paths or pixels.

pub mod ffmpeg;
pub mod matching;
pub mod push;

use crate::hashing::exact::{self, ExactHashes};
use crate::hashing::pdq::{self, Pdq};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use matching::{MatchOptions, VideoMatch, match_videos, match_videos_with};
pub use push::{PushHasher, PushedVideo};

/// Facts about a video stream known before the first frame.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Width of the decoded frames in pixels (as stored: no rotation applied).
    pub width: u32,
    /// Height of the decoded frames in pixels.
    pub height: u32,
    /// Frames per second (the stream's average frame rate, else its base rate), > 0.
    pub fps: f64,
    /// Duration in seconds, when the container declares one.
    pub duration: Option<f64>,
    /// Number of frames, when the container declares it.
    pub frame_count: Option<u64>,
}

/// One decoded frame, borrowed from its source.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Index of the frame among all decoded frames of the video, from 0.
    pub number: u64,
    /// Presentation time in seconds from the start.
    pub timestamp: f64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per pixel: 3 (RGB24) or 4 (RGBA / RGBX); R, G, B come first.
    pub channels: usize,
    /// Bytes from the start of one row to the next (≥ `width × channels`).
    pub stride: usize,
    /// The pixels: at least `stride × (height − 1) + width × channels` bytes.
    pub pixels: &'a [u8],
}

impl Frame<'_> {
    /// Check that the buffer fits the declared geometry (never panics).
    pub fn validate(&self) -> Result<(), VideoError> {
        if self.channels != 3 && self.channels != 4 {
            return Err(VideoError::BadFrame(format!(
                "{} bytes per pixel; expected 3 or 4",
                self.channels
            )));
        }
        if !self.timestamp.is_finite() || self.timestamp < 0.0 {
            return Err(VideoError::BadFrame(
                "the timestamp must be a finite number of seconds ≥ 0".into(),
            ));
        }
        let row = (self.width as u64) * self.channels as u64;
        if (self.stride as u64) < row {
            return Err(VideoError::BadFrame(format!(
                "row stride {} is shorter than a row ({row} bytes)",
                self.stride
            )));
        }
        let needed = if self.height == 0 {
            0
        } else {
            self.stride as u64 * (self.height as u64 - 1) + row
        };
        if (self.pixels.len() as u64) < needed {
            return Err(VideoError::BadFrame(format!(
                "pixel buffer is {} bytes, expected at least {needed}",
                self.pixels.len()
            )));
        }
        Ok(())
    }
}

/// A supplier of decoded frames in presentation order.
pub trait FrameSource {
    /// Stream facts, known before the first frame.
    fn info(&self) -> &VideoInfo;

    /// Hint before the first frame: only frames whose [`Frame::number`] is a multiple
    /// of `step` will be hashed, so the source may skip decoding or converting the
    /// others. Sources that ignore it are still correct, only slower.
    fn set_frame_step(&mut self, step: u64) {
        let _ = step;
    }

    /// The next frame, `Ok(None)` at the end of the video.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, VideoError>;
}

/// Why a video could not be fingerprinted. Messages never contain file names, paths,
/// hashes or pixels.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VideoError {
    /// The `ffmpeg`/`ffprobe` programs are not installed (desktop only).
    #[error("ffmpeg is not installed (needed to decode videos on this machine)")]
    FfmpegMissing,
    /// Not a video this build can read, or the container is damaged.
    #[error("not a readable video, or the file is damaged: {0}")]
    Unreadable(String),
    /// The file has no video stream (for example audio only).
    #[error("the file has no video stream")]
    NoVideoStream,
    /// The video decodes to no frame at all (zero length, or nothing decodable).
    #[error("the video has no frames")]
    NoFrames,
    /// Frame dimensions are zero or beyond the limits.
    #[error("video frames are {width}x{height}, outside the limit ({limit})")]
    BadDimensions {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// Which limit was exceeded.
        limit: String,
    },
    /// The video is longer than [`VideoLimits::max_duration_secs`].
    #[error("the video is {seconds:.0} s long, longer than the limit of {limit:.0} s")]
    TooLong {
        /// Declared or reached duration, seconds.
        seconds: f64,
        /// The limit, seconds.
        limit: f64,
    },
    /// More frames would be hashed than [`VideoLimits::max_hashed_frames`].
    #[error("more than {limit} frames to hash")]
    TooManyFrames {
        /// The limit.
        limit: usize,
    },
    /// The decoder failed part way.
    #[error("decoding failed: {0}")]
    Decode(String),
    /// The decoder produced nothing for [`VideoLimits::stall_timeout`].
    #[error("the decoder stopped responding")]
    Stalled,
    /// The operation was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A frame handed over by the host does not fit its declared geometry.
    #[error("invalid frame: {0}")]
    BadFrame(String),
    /// The options are inconsistent.
    #[error("invalid option: {0}")]
    BadOption(String),
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
}

impl From<std::io::Error> for VideoError {
    fn from(e: std::io::Error) -> Self {
        // io::Error's Display never includes a path.
        VideoError::Io(e.to_string())
    }
}

/// Bounds on what one video may cost. Checked against the header before anything
/// large is allocated, and again while frames arrive.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoLimits {
    /// Largest accepted width or height, pixels.
    pub max_dimension: u32,
    /// Largest accepted pixels per frame.
    pub max_pixels: u64,
    /// Longest accepted video, seconds (declared duration and frame timestamps).
    pub max_duration_secs: f64,
    /// Most frames hashed for one video (before duplicates are collapsed).
    pub max_hashed_frames: usize,
    /// Give up when the decoder delivers no frame for this long.
    pub stall_timeout: Duration,
}

/// Two hours: the service accepts 7200 frames per video (one per second).
pub const DEFAULT_MAX_DURATION_SECS: f64 = 7200.0;
/// Matches the service's per-video frame limit.
pub const DEFAULT_MAX_HASHED_FRAMES: usize = 7200;

impl Default for VideoLimits {
    fn default() -> Self {
        VideoLimits {
            max_dimension: 16_384,
            // 8K UHD (7680×4320 ≈ 33 MP) with some room.
            max_pixels: 40_000_000,
            max_duration_secs: DEFAULT_MAX_DURATION_SECS,
            max_hashed_frames: DEFAULT_MAX_HASHED_FRAMES,
            stall_timeout: Duration::from_secs(60),
        }
    }
}

impl VideoLimits {
    /// Check frame dimensions.
    pub fn check_dimensions(&self, width: u64, height: u64) -> Result<(), VideoError> {
        if width == 0 || height == 0 {
            return Err(VideoError::BadDimensions {
                width,
                height,
                limit: "no pixels".into(),
            });
        }
        if width > self.max_dimension as u64 || height > self.max_dimension as u64 {
            return Err(VideoError::BadDimensions {
                width,
                height,
                limit: format!("{} pixels per side", self.max_dimension),
            });
        }
        if width * height > self.max_pixels {
            return Err(VideoError::BadDimensions {
                width,
                height,
                limit: format!("{} pixels per frame", self.max_pixels),
            });
        }
        Ok(())
    }

    /// Check a duration in seconds.
    pub fn check_duration(&self, seconds: f64) -> Result<(), VideoError> {
        if seconds > self.max_duration_secs {
            return Err(VideoError::TooLong {
                seconds,
                limit: self.max_duration_secs,
            });
        }
        Ok(())
    }
}

/// How to compute vPDQ.
#[derive(Clone, Debug, PartialEq)]
pub struct VpdqOptions {
    /// Seconds between hashed frames: 1 is the reference's default (every ⌊fps⌋-th
    /// frame); 0 hashes every frame.
    pub seconds_per_hash: f64,
    /// Collapse a frame whose hash equals the previous kept frame's hash (default on).
    pub collapse_duplicates: bool,
    /// Cost bounds.
    pub limits: VideoLimits,
}

impl Default for VpdqOptions {
    fn default() -> Self {
        VpdqOptions {
            seconds_per_hash: 1.0,
            collapse_duplicates: true,
            limits: VideoLimits::default(),
        }
    }
}

impl VpdqOptions {
    /// Every frame, no collapsing: what the reference's per-frame sample hashes hold.
    pub fn every_frame() -> Self {
        VpdqOptions {
            seconds_per_hash: 0.0,
            collapse_duplicates: false,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), VideoError> {
        if !self.seconds_per_hash.is_finite() || self.seconds_per_hash < 0.0 {
            return Err(VideoError::BadOption(
                "seconds per hash must be a finite number ≥ 0".into(),
            ));
        }
        Ok(())
    }
}

/// One hashed frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqFrame {
    /// Index among all decoded frames (for pushed frames: among pushed frames).
    pub number: u64,
    /// Timestamp in seconds: `number / fps` for file sources (as the reference), the
    /// host's timestamp for pushed frames.
    pub t: f64,
    /// PDQ hash and quality of the frame.
    pub pdq: Pdq,
}

/// How far hashing has got.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    /// Frames seen (decoded or pushed), including those not hashed.
    pub frames_seen: u64,
    /// Frames hashed so far.
    pub frames_hashed: u64,
    /// Timestamp of the latest frame, seconds.
    pub position_secs: f64,
    /// Expected duration, seconds, when known.
    pub duration_secs: Option<f64>,
}

impl Progress {
    /// Fraction done in 0..=1, when the duration is known.
    pub fn fraction(&self) -> Option<f64> {
        self.duration_secs
            .filter(|d| *d > 0.0)
            .map(|d| (self.position_secs / d).clamp(0.0, 1.0))
    }
}

/// A cancellation flag shared between the caller and the work (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, not cancelled token.
    pub fn new() -> Self {
        Self::default()
    }
    /// Ask the work to stop; it returns [`VideoError::Cancelled`] soon after.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Which frames are hashed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Selection {
    /// Every frame whose number is a multiple of the step (the reference's rule).
    EveryNth(u64),
    /// The first frame at or after each multiple of the interval (pushed frames,
    /// whose numbering and rate the host may not know).
    Interval { seconds: f64, next_due: f64 },
}

/// Frames step of the reference: ⌊seconds_per_hash × fps⌋, at least 1.
pub fn frame_step(seconds_per_hash: f64, fps: f64) -> u64 {
    let step = (seconds_per_hash * fps).floor();
    if step.is_finite() && step >= 1.0 {
        step as u64
    } else {
        1
    }
}

/// The push-based vPDQ core: feed frames in presentation order, get the hashes.
///
/// File sources number frames and use the reference's rule (every ⌊fps⌋-th frame);
/// hosts pushing frames with timestamps only use [`VpdqHasher::by_time`].
pub struct VpdqHasher {
    opts: VpdqOptions,
    selection: Selection,
    fps: Option<f64>,
    frames: Vec<VpdqFrame>,
    hashed: usize,
    progress: Progress,
    last_timestamp: f64,
    cancel: CancelToken,
}

impl VpdqHasher {
    /// Reference selection for a stream with known frame rate: frame `n` is hashed
    /// when `n` is a multiple of ⌊seconds_per_hash × fps⌋; its timestamp is `n / fps`.
    pub fn by_frame_number(
        opts: VpdqOptions,
        info: &VideoInfo,
        cancel: CancelToken,
    ) -> Result<Self, VideoError> {
        opts.validate()?;
        if !(info.fps.is_finite() && info.fps > 0.0) {
            return Err(VideoError::Unreadable("the frame rate is unknown".into()));
        }
        opts.limits
            .check_dimensions(info.width as u64, info.height as u64)?;
        if let Some(d) = info.duration {
            opts.limits.check_duration(d)?;
        }
        let step = frame_step(opts.seconds_per_hash, info.fps);
        Ok(Self::new(
            opts,
            Selection::EveryNth(step),
            Some(info.fps),
            info.duration,
            cancel,
        ))
    }

    /// Timestamp selection for host-pushed frames: the first frame at or after each
    /// multiple of `seconds_per_hash` is hashed (every frame when it is 0).
    /// `expected_duration` (seconds) only feeds progress and the early length check.
    pub fn by_time(
        opts: VpdqOptions,
        expected_duration: Option<f64>,
        cancel: CancelToken,
    ) -> Result<Self, VideoError> {
        opts.validate()?;
        if let Some(d) = expected_duration {
            if !d.is_finite() || d < 0.0 {
                return Err(VideoError::BadOption("the duration must be ≥ 0".into()));
            }
            opts.limits.check_duration(d)?;
        }
        let seconds = opts.seconds_per_hash;
        Ok(Self::new(
            opts,
            Selection::Interval {
                seconds,
                next_due: 0.0,
            },
            None,
            expected_duration,
            cancel,
        ))
    }

    fn new(
        opts: VpdqOptions,
        selection: Selection,
        fps: Option<f64>,
        duration: Option<f64>,
        cancel: CancelToken,
    ) -> Self {
        VpdqHasher {
            opts,
            selection,
            fps,
            frames: Vec::new(),
            hashed: 0,
            progress: Progress {
                duration_secs: duration,
                ..Progress::default()
            },
            last_timestamp: 0.0,
            cancel,
        }
    }

    /// The frame step when selecting by frame number (a hint for sources).
    pub fn frame_step(&self) -> Option<u64> {
        match self.selection {
            Selection::EveryNth(s) => Some(s),
            Selection::Interval { .. } => None,
        }
    }

    /// When selecting by time: the earliest timestamp (seconds) of the next frame
    /// that will be hashed. Hosts that seek (for example Android's
    /// `MediaMetadataRetriever.getFrameAtTime`) can ask for exactly that frame.
    pub fn next_wanted_timestamp(&self) -> Option<f64> {
        match self.selection {
            Selection::EveryNth(_) => None,
            Selection::Interval { next_due, .. } => Some(next_due),
        }
    }

    /// Whether a frame with this number and timestamp would be hashed.
    pub fn wants(&self, number: u64, timestamp: f64) -> bool {
        match self.selection {
            Selection::EveryNth(step) => number.is_multiple_of(step),
            // A microsecond of slack: hosts round timestamps to µs or ms.
            Selection::Interval { next_due, .. } => timestamp + 1e-6 >= next_due,
        }
    }

    /// Progress so far.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Offer the next frame. Returns whether it was hashed (frames between the
    /// selected ones are only counted). Errors: cancelled, frame geometry, limits.
    pub fn push(&mut self, frame: &Frame<'_>) -> Result<bool, VideoError> {
        if self.cancel.is_cancelled() {
            return Err(VideoError::Cancelled);
        }
        if !frame.timestamp.is_finite() || frame.timestamp < 0.0 {
            return Err(VideoError::BadFrame(
                "the timestamp must be a finite number of seconds ≥ 0".into(),
            ));
        }
        if frame.timestamp + 1e-6 < self.last_timestamp && self.fps.is_none() {
            return Err(VideoError::BadFrame(
                "timestamps must not decrease (push frames in presentation order)".into(),
            ));
        }
        self.opts.limits.check_duration(frame.timestamp)?;
        let wanted = self.wants(frame.number, frame.timestamp);
        if wanted {
            frame.validate()?;
            self.opts
                .limits
                .check_dimensions(frame.width as u64, frame.height as u64)?;
            if self.hashed >= self.opts.limits.max_hashed_frames {
                return Err(VideoError::TooManyFrames {
                    limit: self.opts.limits.max_hashed_frames,
                });
            }
        }
        self.last_timestamp = frame.timestamp;
        self.progress.frames_seen += 1;
        self.progress.position_secs = frame.timestamp;
        if !wanted {
            return Ok(false);
        }
        let digest = pdq::pdq_from_pixels(
            frame.pixels,
            frame.width as usize,
            frame.height as usize,
            frame.channels,
            frame.stride,
        );
        self.hashed += 1;
        self.progress.frames_hashed += 1;
        if let Selection::Interval { seconds, next_due } = &mut self.selection {
            *next_due = if *seconds > 0.0 {
                ((frame.timestamp + 1e-6) / *seconds).floor() * *seconds + *seconds
            } else {
                frame.timestamp
            };
        }
        let t = match self.fps {
            Some(fps) => frame.number as f64 / fps,
            None => frame.timestamp,
        };
        let item = VpdqFrame {
            number: frame.number,
            t,
            pdq: digest.pdq,
        };
        let duplicate = self.opts.collapse_duplicates
            && self
                .frames
                .last()
                .is_some_and(|prev| prev.pdq.hash == item.pdq.hash);
        if !duplicate {
            self.frames.push(item);
        }
        Ok(true)
    }

    /// The hashed frames in order. Fails with [`VideoError::NoFrames`] when no frame
    /// was offered at all.
    pub fn finish(self) -> Result<Vec<VpdqFrame>, VideoError> {
        if self.cancel.is_cancelled() {
            return Err(VideoError::Cancelled);
        }
        if self.progress.frames_seen == 0 {
            return Err(VideoError::NoFrames);
        }
        Ok(self.frames)
    }
}

/// vPDQ of everything a [`FrameSource`] yields. `on_progress` is called after every
/// hashed frame.
pub fn hash_frames(
    source: &mut dyn FrameSource,
    opts: &VpdqOptions,
    cancel: &CancelToken,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<VpdqFrame>, VideoError> {
    let mut hasher = VpdqHasher::by_frame_number(opts.clone(), source.info(), cancel.clone())?;
    if let Some(step) = hasher.frame_step() {
        source.set_frame_step(step);
    }
    while let Some(frame) = source.next_frame()? {
        if hasher.push(&frame)? {
            on_progress(&hasher.progress());
        }
    }
    hasher.finish()
}

/// Fingerprints of one video file.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoFingerprint {
    /// MD5 and SHA-256 of the file bytes.
    pub exact: ExactHashes,
    /// Stream facts.
    pub info: VideoInfo,
    /// vPDQ frames, in order.
    pub frames: Vec<VpdqFrame>,
    /// Set when the decoder reported errors but finished (truncated or damaged
    /// file): the frames it could decode were hashed. The decoder's message, without
    /// the path.
    pub damage: Option<String>,
}

impl VideoFingerprint {
    /// Frames of quality ≥ 50, the ones matching uses.
    pub fn usable_frames(&self) -> usize {
        self.frames
            .iter()
            .filter(|f| f.pdq.quality >= pdq::MIN_QUALITY)
            .count()
    }
}

/// Fingerprint a video file with ffmpeg: vPDQ and, streamed in parallel, MD5 and
/// SHA-256 of the bytes.
pub fn fingerprint_video_file(
    path: &Path,
    opts: &VpdqOptions,
    cancel: &CancelToken,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<VideoFingerprint, VideoError> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(VideoError::Io("is a directory".into()));
    }
    let failed = AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = StopRead {
            inner: file,
            flags: [&failed, &cancel.0],
        };
        let exact = s.spawn(move || exact::hash_reader(reader));
        let result = (|| {
            let mut source = ffmpeg::FfmpegSource::open(path, &opts.limits, cancel)?;
            let frames = hash_frames(&mut source, opts, cancel, on_progress)?;
            let damage = source.damage().map(str::to_owned);
            Ok::<_, VideoError>((source.info().clone(), frames, damage))
        })();
        if result.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        let exact = exact
            .join()
            .map_err(|_| VideoError::Io("hashing the file bytes failed".into()))?;
        let (info, frames, damage) = result?;
        let (exact, _len) = exact?;
        Ok(VideoFingerprint {
            exact,
            info,
            frames,
            damage,
        })
    })
}

/// A reader that stops early (with an error) once any of the flags is set.
struct StopRead<'a, R> {
    inner: R,
    flags: [&'a AtomicBool; 2],
}

impl<R: std::io::Read> std::io::Read for StopRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.flags.iter().any(|f| f.load(Ordering::Relaxed)) {
            return Err(std::io::Error::other("stopped"));
        }
        self.inner.read(buf)
    }
}

/// Whether a file's first bytes (pass at least 189) look like a video container this
/// build hands to ffmpeg: MP4/MOV/3GP (an `ftyp` box that is not HEIF/AVIF),
/// Matroska/WebM, AVI, FLV, ASF/WMV, MPEG-PS, MPEG-TS or Y4M. Images never match.
pub fn looks_like_video(head: &[u8]) -> bool {
    let at = |i: usize, s: &[u8]| head.get(i..i + s.len()) == Some(s);
    if at(4, b"ftyp") {
        // HEIF/AVIF still images share the ISO box format.
        let still = [
            b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis",
        ];
        return !head
            .get(8..12)
            .is_some_and(|brand| still.iter().any(|s| brand == &s[..]));
    }
    at(0, &[0x1A, 0x45, 0xDF, 0xA3]) // Matroska / WebM
        || (at(0, b"RIFF") && at(8, b"AVI "))
        || at(0, b"FLV\x01")
        || at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) // ASF / WMV
        || at(0, &[0x00, 0x00, 0x01, 0xBA]) // MPEG program stream
        || (at(0, &[0x47]) && at(188, &[0x47])) // MPEG transport stream
        || at(0, b"YUV4MPEG2")
        || at(4, b"moov")
        || at(4, b"mdat")
        || at(4, b"wide")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_videos_not_images() {
        let mut mp4 = vec![0, 0, 0, 0x20];
        mp4.extend_from_slice(b"ftypisom\0\0\x02\0");
        assert!(looks_like_video(&mp4));
        let mut heic = vec![0, 0, 0, 0x18];
        heic.extend_from_slice(b"ftypheic\0\0\0\0");
        assert!(!looks_like_video(&heic));
        assert!(looks_like_video(&[0x1A, 0x45, 0xDF, 0xA3, 1, 0, 0, 0]));
        assert!(looks_like_video(b"RIFF\0\0\0\0AVI LIST"));
        assert!(!looks_like_video(b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(looks_like_video(b"YUV4MPEG2 W64 H48"));
        let mut ts = vec![0u8; 200];
        ts[0] = 0x47;
        ts[188] = 0x47;
        assert!(looks_like_video(&ts));
        assert!(!looks_like_video(&[0xFF, 0xD8, 0xFF, 0xE0])); // JPEG
        assert!(!looks_like_video(b"\x89PNG\r\n\x1a\n"));
        assert!(!looks_like_video(b""));
    }

    #[test]
    fn reference_frame_step() {
        assert_eq!(frame_step(1.0, 30.0), 30);
        assert_eq!(frame_step(1.0, 30000.0 / 1001.0), 29);
        assert_eq!(frame_step(1.0, 0.5), 1);
        assert_eq!(frame_step(0.0, 30.0), 1);
        assert_eq!(frame_step(2.0, 25.0), 50);
    }
}
