//! The push-based vPDQ core: which frames are hashed, PDQ per kept frame, duplicate
//! collapsing, caps, progress and cancellation.

use super::{
    CancelToken, Frame, FrameSource, Progress, VideoError, VideoInfo, VpdqFrame, VpdqOptions,
    check_timestamp,
};
use crate::hashing::pdq;

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
        check_timestamp(frame.timestamp)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_frame_step() {
        assert_eq!(frame_step(1.0, 30.0), 30);
        assert_eq!(frame_step(1.0, 30000.0 / 1001.0), 29);
        assert_eq!(frame_step(1.0, 0.5), 1);
        assert_eq!(frame_step(0.0, 30.0), 1);
        assert_eq!(frame_step(2.0, 25.0), 50);
    }
}
