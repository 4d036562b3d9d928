//! Image fingerprint exports. Internal errors become [`FingerprintError`] here.

use super::guarded;
use crate::hashing::{self, ImageFingerprint, PdqHash};
use crate::media::DecodeOptions;

/// Why a fingerprint could not be computed. Messages name no file and hold no pixels.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FingerprintError {
    /// The media is damaged, unsupported, too large or empty.
    #[error("invalid media: {reason}")]
    InvalidMedia {
        /// What is wrong, for the user.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read the file: {reason}")]
    Io {
        /// What went wrong.
        reason: String,
    },
    /// A hash string is not 64 hex digits.
    #[error("invalid hash: {reason}")]
    InvalidHash {
        /// What is wrong.
        reason: String,
    },
    /// An internal failure (a bug); the operation did not complete.
    #[error("internal error: {reason}")]
    Other {
        /// Details for a bug report.
        reason: String,
    },
}

impl From<hashing::HashError> for FingerprintError {
    fn from(e: hashing::HashError) -> Self {
        match e {
            hashing::HashError::Io(reason) => FingerprintError::Io { reason },
            other => FingerprintError::InvalidMedia {
                reason: other.to_string(),
            },
        }
    }
}

/// A PDQ perceptual hash with its quality.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PdqFingerprint {
    /// 64 lowercase hex digits.
    pub hash: String,
    /// 0–100. Below 50 only exact copies can be found: tell the user.
    pub quality: u8,
    /// The 8 dihedral variants (original, rotate90, rotate180, rotate270, flipx,
    /// flipy, flipplus1, flipminus1), 64 hex digits each.
    pub dihedrals: Vec<String>,
}

/// Fingerprints of one image file.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ImageFingerprints {
    /// MD5 of the file bytes (32 hex digits).
    pub md5: String,
    /// SHA-256 of the file bytes (64 hex digits).
    pub sha256: String,
    /// PDQ of what a viewer sees (EXIF orientation applied).
    pub pdq: PdqFingerprint,
    /// Width as shown.
    pub width: u32,
    /// Height as shown.
    pub height: u32,
}

impl From<ImageFingerprint> for ImageFingerprints {
    fn from(f: ImageFingerprint) -> Self {
        ImageFingerprints {
            md5: f.exact.md5,
            sha256: f.exact.sha256,
            pdq: PdqFingerprint {
                hash: f.pdq.hash.to_hex(),
                quality: f.pdq.quality,
                dihedrals: f.dihedrals.all().iter().map(PdqHash::to_hex).collect(),
            },
            width: f.width,
            height: f.height,
        }
    }
}

/// Fingerprint an image from its file bytes (JPEG, PNG, WebP, GIF, TIFF, BMP).
#[uniffi::export]
pub fn fingerprint_image_bytes(bytes: Vec<u8>) -> Result<ImageFingerprints, FingerprintError> {
    guarded(|| Ok(hashing::fingerprint_image_bytes(&bytes, &DecodeOptions::default())?.into()))
}

/// Fingerprint an image file by path (desktop; on phones pass bytes or pixels).
#[uniffi::export]
pub fn fingerprint_image_file(path: String) -> Result<ImageFingerprints, FingerprintError> {
    guarded(|| {
        Ok(hashing::fingerprint_image_file(path.as_ref(), &DecodeOptions::default())?.into())
    })
}

/// PDQ of raw RGBA pixels the host decoded (HEIC, Android Bitmap…). `stride` is the
/// row length in bytes (`width * 4` when packed).
#[uniffi::export]
pub fn pdq_from_rgba(
    pixels: Vec<u8>,
    width: u32,
    height: u32,
    stride: u32,
) -> Result<PdqFingerprint, FingerprintError> {
    guarded(|| {
        let d = hashing::pdq_from_rgba(&pixels, width, height, stride)?;
        Ok(PdqFingerprint {
            hash: d.pdq.hash.to_hex(),
            quality: d.pdq.quality,
            dihedrals: d.dihedrals().all().iter().map(PdqHash::to_hex).collect(),
        })
    })
}

/// Hamming distance between two PDQ hashes (0–256); ≤ 31 is a match.
#[uniffi::export]
pub fn pdq_distance(a: String, b: String) -> Result<u32, FingerprintError> {
    let parse = |s: &str| {
        PdqHash::from_hex(s).map_err(|e| FingerprintError::InvalidHash {
            reason: e.to_string(),
        })
    };
    Ok(parse(&a)?.distance(&parse(&b)?))
}
