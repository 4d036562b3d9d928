//! Robustness of the platform kit's matching against re-uploads.
//!
//! * [`photos`] — a generated, camera-like photo set (gradients, shapes,
//!   textures, sensor noise; 1–4 MP JPEG at quality 85–92), from a seed.
//! * [`transforms`] — the re-uploads a platform sees (re-encoded, WebP,
//!   resized, grey, brightened, PNG, EXIF-rotated, mirrored, rotated, bordered,
//!   caption bar, cropped).
//! * [`measure`] — enrols the originals into the real [`takedown_platform`]
//!   matcher and matches every copy and every unrelated photo through the kit's
//!   own scan path, with query expansion off and on, and with the
//!   enrolment-side variants (central crops, or top/bottom edge cuts aimed at
//!   caption bars, listed too).
//!
//! Results and the decision taken from them: `docs/adr/0407-robustness-results.md`.

#![warn(missing_docs)]

// Fingerprints come from one place only; the lead switches this alias to the
// fingerprint crate at merge (same module paths).
pub use takedown_fingerprint as fingerprint;

pub mod measure;
pub mod photos;
pub mod transforms;
