//! Takedown core: everything the phone does, as plain Rust.
//!
//! * [`media`] — bounded image decoding with EXIF orientation and one pixel policy.
//! * [`hashing`] — PDQ (reference-exact, with dihedrals), MD5 and SHA-256.
//! * [`video`] — vPDQ: frame sources (ffmpeg, host-pushed frames), hashing, matching.
//! * [`app`] — the phone core: selection hashing, eligibility, outbox, encrypted
//!   history, status.
//! * `ffi` — the only module with UniFFI exports: thin wrappers over the above.

#![warn(missing_docs)]

pub mod app;
pub mod hashing;
pub mod media;
pub mod video;

mod ffi;

pub use ffi::app::{
    CancelHandle, HashProgress, KeyProvider, MediaInput, Takedown, TakedownError,
    check_eligibility, file_key_provider,
};
pub use ffi::video::{VideoFingerprints, VideoFrameHash};

uniffi::setup_scaffolding!();
