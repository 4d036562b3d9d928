//! JPEG decoding with libjpeg-turbo's algorithm, row by row.
//!
//! The reference pipeline (Pillow + `pdqhash`) decodes JPEG with libjpeg-turbo: the
//! accurate integer IDCT (`JDCT_ISLOW`) and "fancy" (triangular) chroma upsampling.
//! We use the same decoder (the `mozjpeg` crate builds libjpeg-turbo's decoder, SIMD
//! included, from source with `cc`), so the pixels are the reference's pixels and PDQ
//! lands at distance 0. Rows are handed out one at a time: the caller streams them
//! into [`crate::hashing::pdq::PdqHasher`] and a 48 MP photo never exists as a full
//! RGB buffer (`docs/adr/0004-jpeg-scaled-decoding.md`).
//!
//! Errors: libjpeg reports fatal errors by unwinding (the `mozjpeg` crate's contract);
//! [`stream_rows`] catches that and returns [`MediaError::Corrupt`]. A premature end of
//! data, which libjpeg only warns about (and pads with grey), is an error here, as it is
//! for Pillow ("image file is truncated").

use super::{Limits, MediaError, check_dims, cmyk_to_rgb};
use image::metadata::Orientation;
use mozjpeg::{ColorSpace, Decompress, Marker};
use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr};
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What the header says, known before the first row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JpegInfo {
    /// Stored width (before EXIF orientation).
    pub width: u32,
    /// Stored height (before EXIF orientation).
    pub height: u32,
    /// EXIF orientation code (1 = none).
    pub orientation: u8,
}

/// libjpeg's "premature end of JPEG file" warning (`JWRN_JPEG_EOF` in `jerror.h`).
const JWRN_JPEG_EOF: c_int = mozjpeg_sys::JWRN_JPEG_EOF as c_int;

/// A message carried by the unwind out of libjpeg.
struct JpegFailure(&'static str);

extern "C-unwind" fn error_exit(_cinfo: &mut jpeg_common_struct) {
    // libjpeg's own message may quote numbers from the file; keep a fixed text.
    std::panic::resume_unwind(Box::new(JpegFailure("the JPEG data is invalid")));
}

extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, level: c_int) {
    // SAFETY: libjpeg calls this with `cinfo.err` pointing at our error manager.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |e| e.msg_code);
    if level < 0 && code == JWRN_JPEG_EOF {
        std::panic::resume_unwind(Box::new(JpegFailure("unexpected end of file")));
    }
    // Other warnings (extraneous bytes, bad Huffman code recovered…) are ignored, as
    // Pillow ignores them.
}

fn error_mgr() -> jpeg_error_mgr {
    // SAFETY: jpeg_error_mgr is a plain C struct; jpeg_std_error fills every field.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    // SAFETY: `err` is a valid, exclusively borrowed error manager for libjpeg to fill.
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

/// Is this a progressive (or otherwise multi-scan) JPEG? Those buffer every DCT
/// coefficient of the image in libjpeg (2 bytes per sample), so they are checked
/// against [`Limits::max_alloc`] before decoding starts.
fn is_progressive(bytes: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xff {
            return false;
        }
        let m = bytes[i + 1];
        if m == 0xff {
            i += 1;
            continue;
        }
        match m {
            0xc2 | 0xc6 | 0xca | 0xce => return true,
            0xc0 | 0xc1 | 0xc3 | 0xc5 | 0xc7 | 0xc9 | 0xcb | 0xcd | 0xcf | 0xda => return false,
            _ => {}
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        i += 2 + len;
    }
    false
}

/// Bytes of the coefficient buffer a multi-scan decode holds.
fn coefficient_bytes(width: u64, height: u64, sampling: &[(u64, u64)]) -> u64 {
    let max_h = sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1);
    let max_v = sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1);
    let mcu_w = (width).div_ceil(8 * max_h);
    let mcu_h = (height).div_ceil(8 * max_v);
    sampling
        .iter()
        .map(|&(h, v)| mcu_w * h * mcu_h * v * 64 * 2)
        .sum()
}

fn exif_orientation(dec: &Decompress<&[u8]>) -> u8 {
    for m in dec.markers() {
        if m.marker == Marker::APP(1)
            && let Some(exif) = m.data.strip_prefix(b"Exif\0\0")
        {
            return match Orientation::from_exif_chunk(exif) {
                Some(o) => super::orientation_code(o),
                None => 1,
            };
        }
    }
    1
}

/// Decode `bytes` as a JPEG and hand every row, top to bottom, as packed RGB24 to
/// `row` (`width × 3` bytes), after `start` has seen the header. Pixels are exactly
/// libjpeg-turbo's (as Pillow's `convert("RGB")`: grey replicated, CMYK converted with
/// Pillow's formula). `start` may refuse the image by returning an error.
pub fn stream_rows<T>(
    bytes: &[u8],
    limits: &Limits,
    start: impl FnOnce(&JpegInfo) -> Result<T, MediaError>,
    mut row: impl FnMut(&mut T, &[u8]),
) -> Result<(JpegInfo, T), MediaError> {
    let run = || -> Result<(JpegInfo, T), MediaError> {
        let dec = Decompress::with_err(error_mgr())
            .with_markers(&[Marker::APP(1)])
            .from_mem(bytes)
            .map_err(|_| MediaError::Corrupt("no image in the JPEG data".into()))?;
        let (w, h) = (dec.width() as u64, dec.height() as u64);
        check_dims(w, h, limits)?;
        let sampling: Vec<(u64, u64)> = dec
            .components()
            .iter()
            .map(|c| (c.h_samp_factor.max(1) as u64, c.v_samp_factor.max(1) as u64))
            .collect();
        if is_progressive(bytes) && coefficient_bytes(w, h, &sampling) > limits.max_alloc {
            return Err(MediaError::MemoryLimit);
        }
        let info = JpegInfo {
            width: w as u32,
            height: h as u32,
            orientation: exif_orientation(&dec),
        };
        let mut state = start(&info)?;
        let cmyk = matches!(
            dec.color_space(),
            ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK
        );
        let width = w as usize;
        let mut rgb = vec![0u8; width * 3];
        if cmyk {
            let mut started = dec
                .to_colorspace(ColorSpace::JCS_CMYK)
                .map_err(|_| MediaError::Corrupt("cannot start decoding".into()))?;
            let mut raw = vec![0u8; width * 4];
            for _ in 0..h {
                started
                    .read_scanlines_into::<u8>(&mut raw)
                    .map_err(|_| MediaError::Corrupt("unexpected end of file".into()))?;
                for (o, p) in rgb.chunks_exact_mut(3).zip(raw.chunks_exact(4)) {
                    // Pillow reads JPEG CMYK as Adobe's inverted CMYK ("CMYK;I").
                    o.copy_from_slice(&cmyk_to_rgb(!p[0], !p[1], !p[2], !p[3]));
                }
                row(&mut state, &rgb);
            }
        } else {
            let mut started = dec
                .rgb()
                .map_err(|_| MediaError::Corrupt("cannot start decoding".into()))?;
            for _ in 0..h {
                started
                    .read_scanlines_into::<u8>(&mut rgb)
                    .map_err(|_| MediaError::Corrupt("unexpected end of file".into()))?;
                row(&mut state, &rgb);
            }
        }
        Ok((info, state))
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(payload) => Err(MediaError::Corrupt(
            payload
                .downcast_ref::<JpegFailure>()
                .map_or("the decoder failed on this data", |f| f.0)
                .into(),
        )),
    }
}

/// The header of a JPEG (size, EXIF orientation) without decoding any row.
pub fn read_info(bytes: &[u8], limits: &Limits) -> Result<JpegInfo, MediaError> {
    let mut seen = None;
    let r = stream_rows(
        bytes,
        limits,
        |info| {
            seen = Some(*info);
            // Stop before the first row.
            Err::<(), _>(MediaError::NoPixels)
        },
        |_, _| {},
    );
    match (seen, r) {
        (Some(info), _) => Ok(info),
        (None, Err(e)) => Err(e),
        (None, Ok(_)) => Err(MediaError::NoPixels),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progressive_is_found_after_other_segments() {
        // SOI, APP0 (length 4), SOF2.
        let p = [0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2, 0xff, 0xc2, 0, 11];
        assert!(is_progressive(&p));
        let b = [0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2, 0xff, 0xc0, 0, 11];
        assert!(!is_progressive(&b));
        assert!(!is_progressive(&[0xff, 0xd8, 0x00]));
    }

    #[test]
    fn coefficient_buffer_of_a_420_photo() {
        // 48 MP at 4:2:0: 1.5 samples per pixel, 2 bytes each.
        let b = coefficient_bytes(8064, 6048, &[(2, 2), (1, 1), (1, 1)]);
        assert_eq!(b, 8064 * 6048 * 3);
    }
}
