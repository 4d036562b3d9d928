//! Fingerprints: PDQ (with dihedrals), MD5 and SHA-256.

pub mod cuts;
pub mod exact;
pub mod pdq;

use crate::media::{self, DecodeOptions, HostPixelsTooSmall, MediaError};
pub use cuts::EdgeCutPdq;
pub use exact::ExactHashes;
pub use pdq::{Dihedrals, Pdq, PdqDigest, PdqHash};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Everything the phone sends for one image: exact hashes of the file and its PDQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFingerprint {
    /// MD5 and SHA-256 of the file bytes (empty strings for raw pixels).
    pub exact: ExactHashes,
    /// PDQ hash and quality of what a viewer sees.
    pub pdq: Pdq,
    /// The eight dihedral variants of the PDQ hash.
    pub dihedrals: Dihedrals,
    /// PDQ of the picture with its top, and with its bottom, 20 % cut off
    /// ([`cuts`]), listed so that a captioned re-upload still matches.
    pub edge_cuts: Vec<EdgeCutPdq>,
    /// Width as shown (after EXIF orientation).
    pub width: u32,
    /// Height as shown (after EXIF orientation).
    pub height: u32,
    /// Container format (`"jpeg"`, `"png"`, …, or `"rgba"` for raw pixels).
    pub format: &'static str,
}

/// Group near-duplicate pictures of one selection (burst shots, edits, re-saves) so
/// the user is asked about each picture once. Returns a group number per input, in
/// order of first appearance: two pictures share a group when a chain of PDQ matches
/// (distance ≤ 31, both qualities ≥ 50) links them. Low-quality hashes stay alone.
/// See `docs/adr/0005-image-hasher.md`.
pub fn group_near_duplicates(pdqs: &[Pdq]) -> Vec<usize> {
    let n = pdqs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            if pdqs[i].matches(&pdqs[j]) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut ids = std::collections::HashMap::new();
    (0..n)
        .map(|i| {
            let r = root(&mut parent, i);
            let next = ids.len();
            *ids.entry(r).or_insert(next)
        })
        .collect()
}

/// Why an image could not be fingerprinted.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The media could not be decoded.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// Host-decoded pixels too small for a faithful PDQ ([`media::check_host_pixels`]).
    #[error(transparent)]
    HostPixels(#[from] HostPixelsTooSmall),
    /// Raw pixels whose buffer does not fit the stated size.
    #[error("pixel buffer is {got} bytes, expected at least {expected}")]
    PixelBuffer {
        /// Bytes given.
        got: u64,
        /// Bytes needed.
        expected: u64,
    },
}

impl From<std::io::Error> for HashError {
    fn from(e: std::io::Error) -> Self {
        // The io::Error Display never includes the path; keep only the kind and text.
        HashError::Io(e.to_string())
    }
}

/// Fingerprint an image file's bytes.
///
/// JPEG (what phones store) is decoded with libjpeg-turbo, the reference's decoder, and
/// streamed row by row into PDQ: the hash is the reference's, and memory stays at a
/// few rows whatever the photo's size. EXIF orientation is applied to the hash through
/// the PDQ DCT (`PdqDigest::oriented`). Other formats are decoded in full.
pub fn fingerprint_image_bytes(
    bytes: &[u8],
    opts: &DecodeOptions,
) -> Result<ImageFingerprint, HashError> {
    if bytes.len() as u64 <= opts.limits.max_file_bytes
        && media::sniff(bytes) == Some(image::ImageFormat::Jpeg)
    {
        return fingerprint_jpeg(bytes, opts);
    }
    let decoded = media::decode(bytes, opts)?;
    Ok(from_decoded(bytes, &decoded, decoded.format))
}

/// The fingerprint of a picture decoded in full (upright).
fn from_decoded(bytes: &[u8], decoded: &media::Decoded, format: &'static str) -> ImageFingerprint {
    let (w, h) = (decoded.rgb.width as usize, decoded.rgb.height as usize);
    let (digest, edge_cuts) = cuts::digest_and_cuts_from_pixels(&decoded.rgb.data, w, h, 3, w * 3);
    ImageFingerprint {
        exact: exact::hash_bytes(bytes),
        pdq: digest.pdq,
        dihedrals: digest.dihedrals(),
        edge_cuts,
        width: decoded.width,
        height: decoded.height,
        format,
    }
}

/// Oriented JPEGs up to this many pixels are rotated as pixels before hashing (exactly
/// what the reference computes on the upright picture; 12 MP costs 2 × 36 MB); larger
/// ones are oriented through the DCT, which keeps memory flat but is not exact: mean
/// 1.5 bits, max 6 on real photos (`core/tests/photo_conformance.rs`).
pub const ROTATE_PIXELS_UP_TO: u64 = 16_000_000;

fn fingerprint_jpeg(bytes: &[u8], opts: &DecodeOptions) -> Result<ImageFingerprint, HashError> {
    if opts.apply_orientation {
        let info = media::jpeg::read_info(bytes, &opts.limits);
        if let Ok(info) = info
            && info.orientation != 1
            && info.width as u64 * info.height as u64 <= ROTATE_PIXELS_UP_TO
        {
            let decoded = media::decode(bytes, opts)?;
            return Ok(from_decoded(bytes, &decoded, "jpeg"));
        }
    }
    let (info, (hasher, cut_hashers, _)) = media::jpeg::stream_rows(
        bytes,
        &opts.limits,
        |info| {
            let (w, h) = (info.width as usize, info.height as usize);
            let orientation = if opts.apply_orientation {
                info.orientation
            } else {
                1
            };
            Ok((
                pdq::PdqHasher::new(w, h),
                cuts::EdgeCutHashers::new(w, h, orientation),
                Vec::with_capacity(w),
            ))
        },
        // Each row's luma is computed once for the picture and its cuts.
        |(h, c, luma), row| {
            pdq::rgb_row_to_luma(row, 3, luma);
            h.push_luma_row(luma);
            c.push_luma_row(luma);
        },
    )?;
    let mut digest = hasher.finish();
    let (mut width, mut height) = (info.width, info.height);
    if opts.apply_orientation && info.orientation != 1 {
        digest = digest.oriented(info.orientation);
        if matches!(info.orientation, 5..=8) {
            std::mem::swap(&mut width, &mut height);
        }
    }
    Ok(ImageFingerprint {
        exact: exact::hash_bytes(bytes),
        pdq: digest.pdq,
        dihedrals: digest.dihedrals(),
        edge_cuts: cut_hashers.finish(),
        width,
        height,
        format: "jpeg",
    })
}

/// Fingerprint an image file. The file is read once (bounded by
/// [`media::Limits::max_file_bytes`]).
pub fn fingerprint_image_file(
    path: &Path,
    opts: &DecodeOptions,
) -> Result<ImageFingerprint, HashError> {
    let bytes = read_bounded(path, opts.limits.max_file_bytes)?;
    fingerprint_image_bytes(&bytes, opts)
}

/// Read a whole file, refusing files over `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, HashError> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(HashError::Io("is a directory".into()));
    }
    if meta.len() > limit {
        return Err(MediaError::FileTooLarge {
            size: meta.len(),
            limit,
        }
        .into());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(MediaError::FileTooLarge {
            size: bytes.len() as u64,
            limit,
        }
        .into());
    }
    Ok(bytes)
}

/// PDQ of raw RGBA pixels handed over by the host (HEIC and anything else the phone
/// decodes). `stride` is the row length in bytes (`width × 4` when packed). Alpha is
/// ignored, as for decoded files.
pub fn pdq_from_rgba(
    pixels: &[u8],
    width: u32,
    height: u32,
    stride: u32,
) -> Result<PdqDigest, HashError> {
    check_rgba(pixels, width, height, stride)?;
    Ok(pdq::pdq_from_pixels(
        pixels,
        width as usize,
        height as usize,
        4,
        stride as usize,
    ))
}

/// Checks that an RGBA buffer holds a picture of `width` × `height` within the
/// pixel limits, with rows of `stride` bytes.
fn check_rgba(pixels: &[u8], width: u32, height: u32, stride: u32) -> Result<(), HashError> {
    let (w, h, s) = (width as u64, height as u64, stride as u64);
    let limits = media::Limits::default();
    if w == 0 || h == 0 {
        return Err(MediaError::NoPixels.into());
    }
    if w > limits.max_dimension as u64
        || h > limits.max_dimension as u64
        || w * h > limits.max_pixels
    {
        return Err(MediaError::TooLarge {
            width: w,
            height: h,
            limit: "the pixel limit".into(),
        }
        .into());
    }
    let row = w * 4;
    if s < row {
        return Err(HashError::PixelBuffer {
            got: s,
            expected: row,
        });
    }
    let expected = s * (h - 1) + row;
    if (pixels.len() as u64) < expected {
        return Err(HashError::PixelBuffer {
            got: pixels.len() as u64,
            expected,
        });
    }
    Ok(())
}

/// [`pdq_from_rgba`] and the picture's edge cuts ([`cuts`]) for pixels the host
/// decoded from a picture of `original_width` × `original_height`, in one pass
/// (each row's luma computed once): refuses a downscale, which would move PDQ away
/// from the reference ([`media::check_host_pixels`]).
pub fn pdq_from_host_rgba(
    pixels: &[u8],
    width: u32,
    height: u32,
    stride: u32,
    original_width: u32,
    original_height: u32,
) -> Result<(PdqDigest, Vec<EdgeCutPdq>), HashError> {
    media::check_host_pixels(width, height, original_width, original_height)?;
    check_rgba(pixels, width, height, stride)?;
    Ok(cuts::digest_and_cuts_from_pixels(
        pixels,
        width as usize,
        height as usize,
        4,
        stride as usize,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(bits: &[usize], quality: u8) -> Pdq {
        let mut h = PdqHash::ZERO;
        for &b in bits {
            h.0[31 - b / 8] |= 1 << (b % 8);
        }
        Pdq { hash: h, quality }
    }

    #[test]
    fn groups_chains_of_matches_and_keeps_low_quality_alone() {
        let a = p(&[], 90);
        let b = p(&(0..20).collect::<Vec<_>>(), 90); // 20 from a
        let c = p(&(0..45).collect::<Vec<_>>(), 90); // 25 from b, 45 from a: chained
        let d = p(&(100..200).collect::<Vec<_>>(), 90); // far from all
        let e = p(&[1], 10); // would match a, but low quality
        assert_eq!(group_near_duplicates(&[a, b, c, d, e]), vec![0, 0, 0, 1, 2]);
        assert!(group_near_duplicates(&[]).is_empty());
    }

    /// The streamed JPEG path (one luma per row for the picture and its cuts)
    /// gives the hashes of the decoded pixels.
    #[test]
    fn streamed_jpeg_cuts_equal_the_cuts_of_its_decoded_pixels() {
        let (w, h) = (150u32, 110u32);
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                ((x * 7 + y * 3) % 251) as u8,
                (((x / 9) ^ (y / 13)) * 37 % 256) as u8,
                ((x * y / 17) % 256) as u8,
            ])
        });
        let mut jpg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 90)
            .encode_image(&img)
            .unwrap();
        let opts = DecodeOptions::default();
        let f = fingerprint_image_bytes(&jpg, &opts).unwrap();
        let d = media::decode(&jpg, &opts).unwrap();
        let (w, h) = (w as usize, h as usize);
        assert_eq!(f.pdq, pdq::pdq_from_rgb(&d.rgb.data, w, h).pdq);
        assert_eq!(f.edge_cuts.len(), 2);
        assert_eq!(f.edge_cuts, cuts::edge_cuts_from_rgb(&d.rgb.data, w, h));
    }

    #[test]
    fn host_rgba_must_be_the_original_size() {
        let (w, h) = (40u32, 30u32);
        let px: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
        let (d, c) = pdq_from_host_rgba(&px, w, h, w * 4, 40, 30).unwrap();
        assert_eq!(d.pdq, pdq_from_rgba(&px, w, h, w * 4).unwrap().pdq);
        assert_eq!(
            c,
            cuts::edge_cuts_from_pixels(&px, w as usize, h as usize, 4, w as usize * 4)
        );
        assert!(matches!(
            pdq_from_host_rgba(&px, w, h, w * 4, 80, 60),
            Err(HashError::HostPixels(_))
        ));
    }
}
