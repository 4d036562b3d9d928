//! Takedown's phone API for Kotlin and Swift: the only crate with UniFFI exports
//! (library `takedown_core`: `libtakedown_core.so`, the static library and the
//! generated `org.takedown.core` / `TakedownCore` bindings).
//!
//! No logic lives here: each module converts types and errors and runs the work of
//! `takedown-fingerprint` and `takedown-app` inside the one panic guard
//! ([`error`]), so no panic crosses the FFI and every call fails with one error
//! type, [`TakedownError`].
//!
//! * `app` — [`Takedown`], the app object: selection hashing, cases, outbox,
//!   history, status.
//! * `fingerprint` — image fingerprints for apps that only hash.
//! * `video` — [`VideoHasher`], fed with frames the host decodes, and the vPDQ
//!   match rule.
//! * `records` — the app crate's records and enums declared for UniFFI, and the
//!   hex-string mirrors of the types holding fingerprints.

// UniFFI's generated scaffolding is `unsafe` FFI glue; this crate writes none itself.
#![allow(unsafe_code)]

mod app;
pub mod error;
mod fingerprint;
mod log;
mod records;
mod video;

pub use app::{
    CancelToken, CaseDetail, ChangeListener, HashProgress, KeyProvider, MediaInput, Takedown,
    check_eligibility, file_key_provider, open_takedown,
};
pub use error::TakedownError;
pub use fingerprint::{
    ImageFingerprint, PdqFingerprint, fingerprint_image_bytes, fingerprint_image_file,
    pdq_distance, pdq_from_rgba,
};
pub use log::{LogLevel, Logger, set_logger};
pub use records::{
    EdgeCutFingerprint, FrameFingerprint, HashedItem, HistoryItem, ItemFingerprint, SubmitItem,
};
pub use video::{
    PushedVideo, VideoFrameHash, VideoHasher, VideoHasherOptions, VideoMatchResult, VideoProgress,
    compare_videos,
};

uniffi::setup_scaffolding!();
