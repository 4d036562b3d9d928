//! Video files on the desktop: ffmpeg decodes, the bytes are hashed in parallel.

use super::{
    CancelToken, FrameSource, Progress, VideoError, VideoInfo, VpdqFrame, VpdqOptions, ffmpeg,
    hash_frames, usable_frame_count,
};
use crate::hashing::exact::{self, ExactHashes};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

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
        usable_frame_count(self.frames.iter().map(|f| f.pdq.quality))
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
