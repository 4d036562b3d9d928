//! Takedown core: everything the phone does, as plain Rust.
//!
//! * [`media`] — bounded image decoding with EXIF orientation and one pixel policy.
//! * [`hashing`] — PDQ (reference-exact, with dihedrals), MD5 and SHA-256.
//! * [`video`] — vPDQ: frame sources (ffmpeg, host-pushed frames), hashing, matching.
//! * `ffi` — the only module with UniFFI exports: thin wrappers over the above.

pub mod hashing;
pub mod media;
pub mod video;

mod ffi;

uniffi::setup_scaffolding!();
