//! Image fingerprint exports.

use takedown_fingerprint::hashing::{self, HashError, PdqHash};
use takedown_fingerprint::media::DecodeOptions;

use crate::error::{TakedownError, guarded};

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
pub struct ImageFingerprint {
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

impl From<hashing::ImageFingerprint> for ImageFingerprint {
    fn from(f: hashing::ImageFingerprint) -> Self {
        ImageFingerprint {
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
pub fn fingerprint_image_bytes(bytes: Vec<u8>) -> Result<ImageFingerprint, TakedownError> {
    guarded(|| hashing::fingerprint_image_bytes(&bytes, &DecodeOptions::default()).map(Into::into))
}

/// Fingerprint an image file by path (desktop; on phones pass bytes or pixels).
#[uniffi::export]
pub fn fingerprint_image_file(path: String) -> Result<ImageFingerprint, TakedownError> {
    guarded(|| {
        hashing::fingerprint_image_file(path.as_ref(), &DecodeOptions::default()).map(Into::into)
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
) -> Result<PdqFingerprint, TakedownError> {
    guarded(|| {
        let d = hashing::pdq_from_rgba(&pixels, width, height, stride)?;
        Ok::<_, HashError>(PdqFingerprint {
            hash: d.pdq.hash.to_hex(),
            quality: d.pdq.quality,
            dihedrals: d.dihedrals().all().iter().map(PdqHash::to_hex).collect(),
        })
    })
}

/// Hamming distance between two PDQ hashes (0–256); ≤ 31 is a match.
#[uniffi::export]
pub fn pdq_distance(a: String, b: String) -> Result<u32, TakedownError> {
    guarded(|| {
        let parse = |s: &str| {
            PdqHash::from_hex(s).map_err(|e| TakedownError::InvalidInput {
                reason: format!("invalid hash: {e}"),
            })
        };
        Ok::<_, TakedownError>(parse(&a)?.distance(&parse(&b)?))
    })
}
