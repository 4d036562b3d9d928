//! The video types shared by sources, the hasher and the file pipeline.

use super::VideoError;
use crate::hashing::pdq::{self, Pdq};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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

/// A frame timestamp must be a finite number of seconds ≥ 0 (the one check, used by
/// [`Frame::validate`] and the hasher).
pub fn check_timestamp(seconds: f64) -> Result<(), VideoError> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(VideoError::BadFrame(
            "the timestamp must be a finite number of seconds ≥ 0".into(),
        ));
    }
    Ok(())
}

/// The usable-frame rule: how many of these frame qualities reach
/// [`pdq::MIN_QUALITY`] (the frames matching uses). A video with none can only be
/// found as an exact copy.
pub fn usable_frame_count(qualities: impl IntoIterator<Item = u8>) -> usize {
    qualities
        .into_iter()
        .filter(|q| *q >= pdq::MIN_QUALITY)
        .count()
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
        check_timestamp(self.timestamp)?;
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

/// Two hours: the service accepts [`takedown_protocol::MAX_FRAMES_PER_VIDEO`] frames
/// per video (one per second).
pub const DEFAULT_MAX_DURATION_SECS: f64 = takedown_protocol::MAX_FRAMES_PER_VIDEO as f64;
/// The service's per-video frame limit ([`takedown_protocol::MAX_FRAMES_PER_VIDEO`]).
pub const DEFAULT_MAX_HASHED_FRAMES: usize = takedown_protocol::MAX_FRAMES_PER_VIDEO;

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

    pub(crate) fn validate(&self) -> Result<(), VideoError> {
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
pub struct CancelToken(pub(crate) Arc<AtomicBool>);

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
