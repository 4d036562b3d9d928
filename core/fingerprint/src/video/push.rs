//! Hashing frames that the host decoded itself (phones: Android `MediaCodec` /
//! `MediaMetadataRetriever`, iOS `AVAssetImageGenerator`): the host pushes RGBA
//! frames with their timestamps, and optionally the file's bytes for MD5/SHA-256.
//!
//! Selection is by time (the first frame at or after each whole multiple of
//! `seconds_per_hash`), because hosts know timestamps but not always the decoder's
//! frame numbering; for constant-rate video this picks the same frames as the
//! reference's every-⌊fps⌋-th rule up to rounding. Hosts that seek can ask
//! [`PushHasher::next_wanted_timestamp`] and decode only those frames.
//!
//! Frames must be pushed as stored in the file, without applying the track's
//! rotation (`appliesPreferredTrackTransform = false` on iOS): that is what the
//! reference and the platforms hash.

use super::{CancelToken, Frame, Progress, VideoError, VpdqFrame, VpdqHasher, VpdqOptions};
use crate::hashing::exact::{ExactHasher, ExactHashes};

/// The result of a push session.
#[derive(Clone, Debug, PartialEq)]
pub struct PushedVideo {
    /// MD5/SHA-256 of the bytes pushed with [`PushHasher::push_file_bytes`], if any.
    pub exact: Option<ExactHashes>,
    /// vPDQ frames in order.
    pub frames: Vec<VpdqFrame>,
    /// Frames pushed (hashed or skipped).
    pub frames_pushed: u64,
}

/// A push session. Not thread-safe by itself; the FFI wraps it in a mutex and keeps
/// the [`CancelToken`] outside so that cancelling never waits for a frame.
pub struct PushHasher {
    hasher: Option<VpdqHasher>,
    exact: ExactHasher,
    cancel: CancelToken,
    pushed: u64,
}

impl PushHasher {
    /// A session; `expected_duration` (seconds) feeds progress and is checked
    /// against the duration limit up front.
    pub fn new(
        opts: VpdqOptions,
        expected_duration: Option<f64>,
        cancel: CancelToken,
    ) -> Result<Self, VideoError> {
        Ok(PushHasher {
            hasher: Some(VpdqHasher::by_time(
                opts,
                expected_duration,
                cancel.clone(),
            )?),
            exact: ExactHasher::new(),
            cancel,
            pushed: 0,
        })
    }

    fn hasher(&mut self) -> Result<&mut VpdqHasher, VideoError> {
        if self.cancel.is_cancelled() {
            return Err(VideoError::Cancelled);
        }
        self.hasher
            .as_mut()
            .ok_or_else(|| VideoError::BadOption("the session is already finished".into()))
    }

    /// Push one frame of `channels` bytes per pixel (4 for RGBA/RGBX/BGRA-swapped
    /// to RGBA, 3 for RGB), rows `stride` bytes apart, at `timestamp` seconds.
    /// Returns whether it was hashed. Frames must come in presentation order.
    pub fn push_frame(
        &mut self,
        pixels: &[u8],
        width: u32,
        height: u32,
        channels: usize,
        stride: usize,
        timestamp: f64,
    ) -> Result<bool, VideoError> {
        let number = self.pushed;
        let hasher = self.hasher()?;
        let frame = Frame {
            number,
            timestamp,
            width,
            height,
            channels,
            stride,
            pixels,
        };
        let hashed = hasher.push(&frame)?;
        self.pushed += 1;
        Ok(hashed)
    }

    /// Whether a frame at `timestamp` seconds would be hashed (lets a host skip
    /// converting frames that would be ignored).
    pub fn wants(&self, timestamp: f64) -> bool {
        self.hasher
            .as_ref()
            .is_some_and(|h| h.wants(self.pushed, timestamp))
    }

    /// The earliest timestamp (seconds) of the next frame that will be hashed.
    pub fn next_wanted_timestamp(&self) -> Option<f64> {
        self.hasher
            .as_ref()
            .and_then(VpdqHasher::next_wanted_timestamp)
    }

    /// Feed the next chunk of the video file's bytes (for MD5 and SHA-256).
    pub fn push_file_bytes(&mut self, bytes: &[u8]) -> Result<(), VideoError> {
        self.hasher()?;
        self.exact.update(bytes);
        Ok(())
    }

    /// Progress so far.
    pub fn progress(&self) -> Progress {
        self.hasher
            .as_ref()
            .map(VpdqHasher::progress)
            .unwrap_or_default()
    }

    /// End the session and return the hashes. Fails when cancelled, when no frame
    /// was pushed, or when called twice.
    pub fn finish(&mut self) -> Result<PushedVideo, VideoError> {
        self.hasher()?;
        let hasher = self
            .hasher
            .take()
            .ok_or_else(|| VideoError::BadOption("the session is already finished".into()))?;
        let frames = hasher.finish()?;
        let exact = std::mem::take(&mut self.exact);
        Ok(PushedVideo {
            exact: (!exact.is_empty()).then(|| exact.finish()),
            frames,
            frames_pushed: self.pushed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::pdq;

    fn gradient(w: u32, h: u32, phase: u32) -> Vec<u8> {
        let mut v = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                let r = ((x * 255 / w + phase * 37) % 256) as u8;
                let g = ((y * 255 / h) ^ (x / 7 + phase)) as u8;
                v.extend_from_slice(&[r, g, (x * y % 251) as u8, 255]);
            }
        }
        v
    }

    #[test]
    fn one_frame_per_second_by_timestamp() {
        let mut p = PushHasher::new(VpdqOptions::default(), Some(3.0), CancelToken::new()).unwrap();
        let mut hashed = vec![];
        // 10 fps for 3 s.
        for i in 0..30u32 {
            let t = i as f64 / 10.0;
            let px = gradient(64, 48, i / 10);
            if p.push_frame(&px, 64, 48, 4, 64 * 4, t).unwrap() {
                hashed.push(i);
            }
        }
        assert_eq!(hashed, vec![0, 10, 20]);
        let out = p.finish().unwrap();
        assert_eq!(out.frames_pushed, 30);
        assert_eq!(out.frames.len(), 3);
        assert_eq!(out.frames[1].t, 1.0);
        // Same pixels ⇒ the same hash as the image path.
        let px = gradient(64, 48, 2);
        let d = pdq::pdq_from_pixels(&px, 64, 48, 4, 256);
        assert_eq!(out.frames[2].pdq, d.pdq);
        assert!(out.exact.is_none());
    }

    #[test]
    fn seeking_hosts_get_the_next_wanted_time() {
        let mut p = PushHasher::new(VpdqOptions::default(), None, CancelToken::new()).unwrap();
        assert_eq!(p.next_wanted_timestamp(), Some(0.0));
        let px = gradient(32, 32, 0);
        assert!(p.push_frame(&px, 32, 32, 4, 128, 0.033).unwrap());
        assert_eq!(p.next_wanted_timestamp(), Some(1.0));
        assert!(!p.wants(0.5));
        assert!(p.wants(0.9999995), "µs rounding must not skip a second");
        assert!(p.push_frame(&px, 32, 32, 4, 128, 2.5).unwrap());
        assert_eq!(p.next_wanted_timestamp(), Some(3.0));
    }

    #[test]
    fn bad_frames_and_limits_are_errors_not_panics() {
        let mut p = PushHasher::new(VpdqOptions::default(), None, CancelToken::new()).unwrap();
        let px = vec![0u8; 100];
        assert!(matches!(
            p.push_frame(&px, 32, 32, 4, 128, 0.0),
            Err(VideoError::BadFrame(_))
        ));
        assert!(matches!(
            p.push_frame(&px, 5, 5, 4, 8, 0.0),
            Err(VideoError::BadFrame(_))
        ));
        assert!(matches!(
            p.push_frame(&px, 5, 5, 2, 10, 0.0),
            Err(VideoError::BadFrame(_))
        ));
        assert!(matches!(
            p.push_frame(&px, 5, 5, 4, 20, f64::NAN),
            Err(VideoError::BadFrame(_))
        ));
        assert!(matches!(
            p.push_frame(&[], 0, 0, 4, 0, 0.0),
            Err(VideoError::BadDimensions { .. })
        ));
        assert!(matches!(
            p.push_frame(&px, 100_000, 100_000, 4, 400_000, 0.0),
            Err(VideoError::BadFrame(_)) | Err(VideoError::BadDimensions { .. })
        ));
        // Past the duration limit.
        let big = vec![0u8; 16 * 16 * 4];
        assert!(matches!(
            p.push_frame(&big, 16, 16, 4, 64, 7201.0),
            Err(VideoError::TooLong { .. })
        ));
        // A declared 10-hour video is refused up front.
        assert!(matches!(
            PushHasher::new(VpdqOptions::default(), Some(36_000.0), CancelToken::new()),
            Err(VideoError::TooLong { .. })
        ));
        // Nothing pushed: no frames.
        assert!(matches!(p.finish(), Err(VideoError::NoFrames)));
    }

    #[test]
    fn frame_cap_and_order() {
        let mut opts = VpdqOptions::every_frame();
        opts.limits.max_hashed_frames = 3;
        let mut p = PushHasher::new(opts, None, CancelToken::new()).unwrap();
        let px = gradient(16, 16, 0);
        for i in 0..3 {
            p.push_frame(&px, 16, 16, 4, 64, i as f64).unwrap();
        }
        assert!(matches!(
            p.push_frame(&px, 16, 16, 4, 64, 3.0),
            Err(VideoError::TooManyFrames { limit: 3 })
        ));
        let mut p = PushHasher::new(VpdqOptions::every_frame(), None, CancelToken::new()).unwrap();
        p.push_frame(&px, 16, 16, 4, 64, 2.0).unwrap();
        assert!(matches!(
            p.push_frame(&px, 16, 16, 4, 64, 1.0),
            Err(VideoError::BadFrame(_))
        ));
    }

    #[test]
    fn cancel_and_exact_hashes() {
        let cancel = CancelToken::new();
        let mut p = PushHasher::new(VpdqOptions::default(), None, cancel.clone()).unwrap();
        let px = gradient(16, 16, 0);
        p.push_file_bytes(b"ab").unwrap();
        p.push_file_bytes(b"c").unwrap();
        p.push_frame(&px, 16, 16, 4, 64, 0.0).unwrap();
        let out = p.finish().unwrap();
        assert_eq!(
            out.exact.unwrap().md5,
            "900150983cd24fb0d6963f7d28e17f72" // MD5("abc")
        );
        assert!(p.finish().is_err(), "finishing twice is an error");

        let mut p = PushHasher::new(VpdqOptions::default(), None, cancel.clone()).unwrap();
        p.push_frame(&px, 16, 16, 4, 64, 0.0).unwrap();
        cancel.cancel();
        assert_eq!(
            p.push_frame(&px, 16, 16, 4, 64, 1.0),
            Err(VideoError::Cancelled)
        );
        assert_eq!(p.finish(), Err(VideoError::Cancelled));
    }

    #[test]
    fn consecutive_duplicates_collapse() {
        let mut p = PushHasher::new(VpdqOptions::default(), None, CancelToken::new()).unwrap();
        let a = gradient(32, 32, 0);
        // Rotated 180° with the channels reversed: a different picture.
        let b: Vec<u8> = a.iter().rev().copied().collect();
        assert_ne!(
            pdq::pdq_from_pixels(&a, 32, 32, 4, 128).pdq.hash,
            pdq::pdq_from_pixels(&b, 32, 32, 4, 128).pdq.hash
        );
        for (i, px) in [&a, &a, &b, &a].iter().enumerate() {
            p.push_frame(px, 32, 32, 4, 128, i as f64).unwrap();
        }
        let out = p.finish().unwrap();
        let ts: Vec<f64> = out.frames.iter().map(|f| f.t).collect();
        assert_eq!(ts, vec![0.0, 2.0, 3.0]);
    }
}
