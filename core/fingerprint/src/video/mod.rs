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

mod error;
pub mod ffmpeg;
mod file;
mod hasher;
pub mod matching;
pub mod push;
mod sniff;
mod types;

pub use error::VideoError;
pub use file::{VideoFingerprint, fingerprint_video_file};
pub use hasher::{VpdqHasher, frame_step, hash_frames};
pub use matching::{MatchOptions, VideoMatch, match_videos, match_videos_with};
pub use push::{PushHasher, PushedVideo};
pub use sniff::looks_like_video;
pub use types::{
    CancelToken, DEFAULT_MAX_DURATION_SECS, DEFAULT_MAX_HASHED_FRAMES, Frame, FrameSource,
    Progress, VideoInfo, VideoLimits, VpdqFrame, VpdqOptions, check_timestamp, usable_frame_count,
};
