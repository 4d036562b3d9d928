//! The matching rules shared by the phone, the service and platforms (one home).

/// A PDQ hash of lower quality than this is not used for perceptual matching (Meta's
/// guidance: weak hashes cause false matches); only its exact hashes count.
pub const PDQ_MIN_QUALITY: u8 = 50;
/// Two PDQ hashes match when their Hamming distance is at most this (and both have
/// at least [`PDQ_MIN_QUALITY`]).
pub const PDQ_MATCH_DISTANCE: u32 = 31;
/// A video matches another when at least this share (percent) of the query's usable
/// vPDQ frames match some frame of the other.
pub const VPDQ_MATCH_PERCENT: f64 = 80.0;
