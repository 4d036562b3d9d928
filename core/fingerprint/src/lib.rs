//! Takedown fingerprints: what the phone (and the `takedown` command) computes from a
//! picture or a video, as plain Rust. No networking, storage, async runtime or FFI.
//!
//! * [`media`] — bounded image decoding with EXIF orientation and one pixel policy.
//! * [`hashing`] — PDQ (reference-exact, with dihedrals), MD5 and SHA-256.
//! * [`video`] — vPDQ: frame sources (ffmpeg, host-pushed frames), hashing, matching.
//!
//! The matching rules (PDQ quality ≥ 50, distance ≤ 31, vPDQ ≥ 80 %, the frame cap)
//! have one home, `takedown_protocol`; the constants here refer to it.

pub mod hashing;
pub mod media;
pub mod video;
