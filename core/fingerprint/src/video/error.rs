//! Why a video could not be fingerprinted.

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
    /// The video is longer than [`VideoLimits::max_duration_secs`](super::VideoLimits::max_duration_secs).
    #[error("the video is {seconds:.0} s long, longer than the limit of {limit:.0} s")]
    TooLong {
        /// Declared or reached duration, seconds.
        seconds: f64,
        /// The limit, seconds.
        limit: f64,
    },
    /// More frames would be hashed than [`VideoLimits::max_hashed_frames`](super::VideoLimits::max_hashed_frames).
    #[error("more than {limit} frames to hash")]
    TooManyFrames {
        /// The limit.
        limit: usize,
    },
    /// The decoder failed part way.
    #[error("decoding failed: {0}")]
    Decode(String),
    /// The decoder produced nothing for [`VideoLimits::stall_timeout`](super::VideoLimits::stall_timeout).
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
