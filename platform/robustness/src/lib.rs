//! Robustness of the platform kit's matching against re-uploads.
//!
//! * [`photos`] — a generated, camera-like photo set (gradients, shapes,
//!   textures, sensor noise; 1–4 MP JPEG at quality 85–92), from a seed.
//! * [`transforms`] — the re-uploads a platform sees (re-encoded, WebP,
//!   resized, grey, brightened, PNG, EXIF-rotated, mirrored, rotated, bordered,
//!   caption bar, cropped).
//! * [`measure`] — enrols the originals into the real [`takedown_platform`]
//!   matcher as the phone lists them (PDQ and the top/bottom 20 % edge cuts,
//!   ADR 0410; or without the cuts, to measure the state before) and matches
//!   every copy and every unrelated photo through the kit's own scan path, with
//!   query expansion off and on, and with an enrolment-side central crop listed
//!   too.
//!
//! Results and the decisions taken from them: `docs/adr/0407-robustness-results.md`,
//! `docs/adr/0410-edge-cuts.md`.

#![warn(missing_docs)]

// Fingerprints come from one place only; the lead switches this alias to the
// fingerprint crate at merge (same module paths).
pub use takedown_fingerprint as fingerprint;

pub mod measure;
pub mod photos;
pub mod transforms;
