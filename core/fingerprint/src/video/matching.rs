//! The vPDQ match rule, as python-threatexchange applies it:
//!
//! 1. drop frames with quality below 50 on both sides, and exact-duplicate hashes;
//! 2. a frame matches when some frame of the other video is within distance ≤ 31;
//! 3. report the share of the query's frames that match (and of the compared
//!    video's frames); the videos match when ≥ 80 % of the query's frames do.
//!
//! A side with no frame left matches nothing (0 %), as in the C++ matcher.

use super::VpdqFrame;
use crate::hashing::pdq::{MATCH_DISTANCE, MIN_QUALITY, PdqHash};
use std::collections::HashSet;

/// Parameters of the rule; the defaults are Meta's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchOptions {
    /// A frame pair matches at this Hamming distance or less (31).
    pub max_distance: u32,
    /// Frames of lower quality are ignored (50).
    pub min_quality: u8,
    /// Videos match when at least this percentage of the query's frames match (80).
    pub query_match_percent: f64,
    /// … and at least this percentage of the compared video's frames (0).
    pub compared_match_percent: f64,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            max_distance: MATCH_DISTANCE,
            min_quality: MIN_QUALITY,
            query_match_percent: takedown_protocol::VPDQ_MATCH_PERCENT,
            compared_match_percent: 0.0,
        }
    }
}

/// The outcome of comparing two videos.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoMatch {
    /// Percentage (0–100) of the query's usable frames that match some frame of the
    /// compared video.
    pub query_matched_percent: f64,
    /// Percentage (0–100) of the compared video's usable frames that match some
    /// frame of the query.
    pub compared_matched_percent: f64,
    /// Usable (quality ≥ minimum, distinct) frames of the query.
    pub query_frames: usize,
    /// Usable frames of the compared video.
    pub compared_frames: usize,
    /// Whether the percentages reach the thresholds.
    pub is_match: bool,
}

fn usable(frames: &[VpdqFrame], min_quality: u8) -> Vec<PdqHash> {
    let mut seen = HashSet::new();
    frames
        .iter()
        .filter(|f| f.pdq.quality >= min_quality)
        .map(|f| f.pdq.hash)
        .filter(|h| seen.insert(*h))
        .collect()
}

fn matched_share(a: &[[u64; 4]], b: &[[u64; 4]], max_distance: u32) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let hits = a
        .iter()
        .filter(|x| {
            b.iter()
                .any(|y| (0..4).map(|i| (x[i] ^ y[i]).count_ones()).sum::<u32>() <= max_distance)
        })
        .count();
    hits as f64 * 100.0 / a.len() as f64
}

/// Compare `query` against `compared` with Meta's defaults.
pub fn match_videos(query: &[VpdqFrame], compared: &[VpdqFrame]) -> VideoMatch {
    match_videos_with(query, compared, &MatchOptions::default())
}

/// Compare `query` against `compared` with explicit parameters. Brute force: 7200 ×
/// 7200 frames (two hours each) is 52 M distance computations, well under a second.
pub fn match_videos_with(
    query: &[VpdqFrame],
    compared: &[VpdqFrame],
    opts: &MatchOptions,
) -> VideoMatch {
    let q: Vec<[u64; 4]> = usable(query, opts.min_quality)
        .iter()
        .map(PdqHash::words)
        .collect();
    let c: Vec<[u64; 4]> = usable(compared, opts.min_quality)
        .iter()
        .map(PdqHash::words)
        .collect();
    let query_matched_percent = matched_share(&q, &c, opts.max_distance);
    let compared_matched_percent = matched_share(&c, &q, opts.max_distance);
    VideoMatch {
        query_matched_percent,
        compared_matched_percent,
        query_frames: q.len(),
        compared_frames: c.len(),
        is_match: !q.is_empty()
            && !c.is_empty()
            && query_matched_percent >= opts.query_match_percent
            && compared_matched_percent >= opts.compared_match_percent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::pdq::Pdq;

    fn frame(bits: &[usize], quality: u8) -> VpdqFrame {
        let mut h = [0u8; 32];
        for &b in bits {
            h[31 - b / 8] |= 1 << (b % 8);
        }
        VpdqFrame {
            number: 0,
            t: 0.0,
            pdq: Pdq {
                hash: PdqHash(h),
                quality,
            },
        }
    }

    fn far(k: usize) -> Vec<usize> {
        // 64 bits set in a block of its own: distance ≥ 64 from any other block.
        (k * 64..k * 64 + 64).collect()
    }

    #[test]
    fn distance_31_matches_32_does_not() {
        let base = frame(&[], 100);
        let at31 = frame(&(0..31).collect::<Vec<_>>(), 100);
        let at32 = frame(&(0..32).collect::<Vec<_>>(), 100);
        assert!(match_videos(&[at31], &[base]).is_match);
        let m = match_videos(&[at32], &[base]);
        assert!(!m.is_match);
        assert_eq!(m.query_matched_percent, 0.0);
    }

    #[test]
    fn low_quality_frames_are_ignored() {
        let a = frame(&far(0), 100);
        let low = frame(&far(1), 49);
        // The low-quality frame does not count against the query…
        let m = match_videos(&[a, low], &[a]);
        assert_eq!(m.query_frames, 1);
        assert_eq!(m.query_matched_percent, 100.0);
        // …and cannot produce a match by itself.
        let m = match_videos(&[low], &[low]);
        assert!(!m.is_match);
        assert_eq!(m.query_frames, 0);
    }

    #[test]
    fn eighty_percent_of_the_query() {
        let frames: Vec<VpdqFrame> = (0..4).map(|k| frame(&far(k), 100)).collect();
        let other = frame(&[0, 64, 128, 192, 1, 65, 129, 193], 100);
        // 4 of 5 query frames match: exactly 80 %.
        let mut q = frames.clone();
        q.push(frame(&[0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103], 60));
        let m = match_videos(&q, &frames);
        assert_eq!(m.query_matched_percent, 80.0);
        assert_eq!(m.compared_matched_percent, 100.0);
        assert!(m.is_match);
        // 3 of 5: no match; the compared side's share is reported separately.
        let q2 = vec![frames[0], frames[1], frames[2], other, q[4]];
        let m = match_videos(&q2, &frames);
        assert_eq!(m.query_matched_percent, 60.0);
        assert_eq!(m.compared_matched_percent, 75.0);
        assert!(!m.is_match);
    }

    #[test]
    fn duplicates_count_once_and_empty_sides_match_nothing() {
        let a = frame(&far(0), 100);
        let b = frame(&far(1), 100);
        let m = match_videos(&[a, a, a, b], &[a]);
        assert_eq!(m.query_frames, 2);
        assert_eq!(m.query_matched_percent, 50.0);
        let m = match_videos(&[], &[a]);
        assert!(!m.is_match);
        assert_eq!(m.query_matched_percent, 0.0);
        assert!(!match_videos(&[a], &[]).is_match);
    }
}
