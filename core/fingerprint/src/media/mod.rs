//! Media decoding for fingerprinting: bounded, orientation-aware, one pixel policy.
//!
//! * JPEG goes through libjpeg-turbo's decoder ([`jpeg`]), the one the reference
//!   pipeline (Pillow) uses, so the pixels — and PDQ — are the reference's. It hands
//!   out rows one at a time: [`crate::hashing::fingerprint_image_bytes`] streams them
//!   into PDQ, so a 48 MP photo is hashed in a few MB.
//! * PNG, WebP, GIF (first frame), TIFF and BMP go through the `image` crate with
//!   [`image::Limits`].
//! * EXIF orientation is applied: the hash is of what a viewer sees.
//! * Pixel policy (`docs/adr/0003-pixel-policy.md`): grey is replicated to RGB, alpha is
//!   dropped without compositing, palettes are expanded, 16-bit samples are scaled to
//!   8 bits, CMYK is converted like Pillow's `convert("RGB")`.
//! * Pixels a phone host decodes itself must be the picture's own size
//!   ([`check_host_pixels`]): a downscale moves PDQ away from the reference.

pub mod host;
// libjpeg is C: its error manager is set up through `mozjpeg_sys` (documented blocks).
#[allow(unsafe_code)]
pub mod jpeg;

pub use host::{HOST_SIZE_TOLERANCE, HostPixelsTooSmall, check_host_pixels};

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::io::Cursor;

/// Decoding limits. Every decode checks the header against these before allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: u64,
    /// Largest accepted width or height, in pixels.
    pub max_dimension: u32,
    /// Largest accepted pixel count (width × height) of the stored image.
    pub max_pixels: u64,
    /// Largest single allocation a decoder may make, in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 * 1024 * 1024,
            max_dimension: 65_535,
            // 200 MP covers every phone and most cameras.
            max_pixels: 200_000_000,
            // A phone must survive a decompression bomb: 256 MiB is an 85 MP RGB image.
            max_alloc: 256 * 1024 * 1024,
        }
    }
}

/// How to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Limits checked before any large allocation.
    pub limits: Limits,
    /// Apply EXIF orientation (default true).
    pub apply_orientation: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            limits: Limits::default(),
            apply_orientation: true,
        }
    }
}

/// Why an image could not be decoded. Messages never contain file names or pixels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The file has no bytes.
    #[error("the file is empty")]
    Empty,
    /// Not an image format this build decodes.
    #[error("not a supported image format (JPEG, PNG, WebP, GIF, TIFF, BMP)")]
    Unsupported,
    /// The header declares more pixels than the limits allow.
    #[error("image is {width}x{height}, larger than the limit ({limit})")]
    TooLarge {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// Which limit was exceeded.
        limit: String,
    },
    /// The file is bigger than [`Limits::max_file_bytes`].
    #[error("the file is {size} bytes, larger than the limit of {limit} bytes")]
    FileTooLarge {
        /// File size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Decoding would need more memory than [`Limits::max_alloc`].
    #[error("decoding needs more memory than allowed")]
    MemoryLimit,
    /// The data is damaged or truncated.
    #[error("the image data is damaged or truncated: {0}")]
    Corrupt(String),
    /// The image has zero width or height.
    #[error("the image has no pixels")]
    NoPixels,
}

/// A decoded image as packed RGB24, oriented as a viewer shows it.
#[derive(Clone, Debug)]
pub struct RgbImage {
    /// Width of `data` in pixels.
    pub width: u32,
    /// Height of `data` in pixels.
    pub height: u32,
    /// `width × height × 3` bytes, rows top to bottom.
    pub data: Vec<u8>,
}

/// The result of decoding a file.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// Pixels at full resolution.
    pub rgb: RgbImage,
    /// Full-resolution width as a viewer sees it (after orientation).
    pub width: u32,
    /// Full-resolution height as a viewer sees it (after orientation).
    pub height: u32,
    /// Container format, lowercase (`"jpeg"`, `"png"`, …).
    pub format: &'static str,
    /// EXIF orientation found in the file (1 = none), applied when requested.
    pub orientation: u8,
}

/// Sniff the format from the first bytes.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    let f = image::guess_format(bytes).ok()?;
    match f {
        ImageFormat::Jpeg
        | ImageFormat::Png
        | ImageFormat::WebP
        | ImageFormat::Gif
        | ImageFormat::Tiff
        | ImageFormat::Bmp => Some(f),
        _ => None,
    }
}

fn format_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Png => "png",
        ImageFormat::WebP => "webp",
        ImageFormat::Gif => "gif",
        ImageFormat::Tiff => "tiff",
        ImageFormat::Bmp => "bmp",
        _ => "other",
    }
}

fn check_dims(w: u64, h: u64, l: &Limits) -> Result<(), MediaError> {
    if w == 0 || h == 0 {
        return Err(MediaError::NoPixels);
    }
    if w > l.max_dimension as u64 || h > l.max_dimension as u64 {
        return Err(MediaError::TooLarge {
            width: w,
            height: h,
            limit: format!("{} pixels per side", l.max_dimension),
        });
    }
    if w * h > l.max_pixels {
        return Err(MediaError::TooLarge {
            width: w,
            height: h,
            limit: format!("{} megapixels", l.max_pixels / 1_000_000),
        });
    }
    Ok(())
}

/// Decode an image file's bytes.
pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<Decoded, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() as u64 > opts.limits.max_file_bytes {
        return Err(MediaError::FileTooLarge {
            size: bytes.len() as u64,
            limit: opts.limits.max_file_bytes,
        });
    }
    let format = sniff(bytes).ok_or(MediaError::Unsupported)?;
    // Decoders are third-party code fed hostile input: a panic in one becomes an error.
    let result = std::panic::catch_unwind(|| match format {
        ImageFormat::Jpeg => decode_jpeg(bytes, opts),
        f => decode_with_image(bytes, f, opts),
    });
    result.unwrap_or_else(|_| {
        Err(MediaError::Corrupt(
            "the decoder failed on this data".into(),
        ))
    })
}

fn decode_jpeg(bytes: &[u8], opts: &DecodeOptions) -> Result<Decoded, MediaError> {
    let max_alloc = opts.limits.max_alloc;
    let (info, data) = jpeg::stream_rows(
        bytes,
        &opts.limits,
        |info| {
            let n = info.width as u64 * info.height as u64 * 3;
            if n > max_alloc {
                return Err(MediaError::MemoryLimit);
            }
            Ok(Vec::with_capacity(n as usize))
        },
        |data: &mut Vec<u8>, row| data.extend_from_slice(row),
    )?;
    let orientation = orientation_from_code(info.orientation);
    finish(
        RgbImage {
            width: info.width,
            height: info.height,
            data,
        },
        (info.width, info.height),
        "jpeg",
        orientation,
        opts,
    )
}

/// 16-bit sample to 8 bits, rounding (what a viewer shows).
fn scale16(v: u16) -> u8 {
    ((v as u32 * 255 + 32_767) / 65_535) as u8
}

/// CMYK to RGB as Pillow's `convert("RGB")`: `R = (255 − C)(255 − K) / 255`, rounded.
fn cmyk_to_rgb(c: u8, m: u8, y: u8, k: u8) -> [u8; 3] {
    let nk = 255 - k as u32;
    let f = |v: u8| {
        // Pillow: nk − MULDIV255(v, nk), MULDIV255(a, b) = ((a*b + 128) + ((a*b + 128) >> 8)) >> 8
        let t = v as u32 * nk + 128;
        (nk - ((t + (t >> 8)) >> 8)) as u8
    };
    [f(c), f(m), f(y)]
}

fn decode_with_image(
    bytes: &[u8],
    format: ImageFormat,
    opts: &DecodeOptions,
) -> Result<Decoded, MediaError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(opts.limits.max_dimension);
    limits.max_image_height = Some(opts.limits.max_dimension);
    limits.max_alloc = Some(opts.limits.max_alloc);
    reader.limits(limits);
    let mut decoder = match reader.into_decoder() {
        Ok(d) => d,
        Err(image::ImageError::Limits(_)) => {
            // Name the declared size when the header is what broke the limit.
            let mut peek = ImageReader::with_format(Cursor::new(bytes), format);
            peek.no_limits();
            if let Ok((w, h)) = peek.into_dimensions() {
                check_dims(w as u64, h as u64, &opts.limits)?;
            }
            return Err(MediaError::MemoryLimit);
        }
        Err(e) => return Err(image_err(e)),
    };
    let (w, h) = decoder.dimensions();
    check_dims(w as u64, h as u64, &opts.limits)?;
    // Not every decoder enforces max_alloc itself: check the output buffer here.
    if decoder.total_bytes() > opts.limits.max_alloc {
        return Err(MediaError::MemoryLimit);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder).map_err(image_err)?;
    let rgb = to_rgb8(img);
    let (sw, sh) = (rgb.width(), rgb.height());
    finish(
        RgbImage {
            width: sw,
            height: sh,
            data: rgb.into_raw(),
        },
        (w, h),
        format_name(format),
        orientation,
        opts,
    )
}

/// The pixel policy for everything the `image` crate decodes.
fn to_rgb8(img: DynamicImage) -> image::RgbImage {
    match img {
        DynamicImage::ImageRgb8(i) => i,
        DynamicImage::ImageRgba8(i) => {
            // Drop alpha without compositing (as the reference's Pillow convert does).
            let (w, h) = i.dimensions();
            let data = i
                .into_raw()
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            image::RgbImage::from_raw(w, h, data).expect("sized")
        }
        // Grey is replicated, 16-bit samples are scaled to 8 bits, alpha is dropped.
        DynamicImage::ImageLuma8(i) => {
            let (w, h) = i.dimensions();
            let data = i.into_raw().iter().flat_map(|&v| [v, v, v]).collect();
            image::RgbImage::from_raw(w, h, data).expect("sized")
        }
        DynamicImage::ImageLumaA8(i) => {
            let (w, h) = i.dimensions();
            let data = i
                .into_raw()
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0]])
                .collect();
            image::RgbImage::from_raw(w, h, data).expect("sized")
        }
        DynamicImage::ImageLuma16(i) => from16(i.dimensions(), i.as_raw(), 1, true),
        DynamicImage::ImageLumaA16(i) => from16(i.dimensions(), i.as_raw(), 2, true),
        DynamicImage::ImageRgb16(i) => from16(i.dimensions(), i.as_raw(), 3, false),
        DynamicImage::ImageRgba16(i) => from16(i.dimensions(), i.as_raw(), 4, false),
        // Float images (rare: TIFF) go through the crate's clamping conversion.
        other => other.to_rgb8(),
    }
}

fn from16((w, h): (u32, u32), raw: &[u16], channels: usize, grey: bool) -> image::RgbImage {
    let data = raw
        .chunks_exact(channels)
        .flat_map(|p| {
            if grey {
                let v = scale16(p[0]);
                [v, v, v]
            } else {
                [scale16(p[0]), scale16(p[1]), scale16(p[2])]
            }
        })
        .collect();
    image::RgbImage::from_raw(w, h, data).expect("sized")
}

fn image_err(e: image::ImageError) -> MediaError {
    use image::ImageError as E;
    match e {
        E::Limits(l) => match l.kind() {
            image::error::LimitErrorKind::InsufficientMemory => MediaError::MemoryLimit,
            _ => MediaError::MemoryLimit,
        },
        E::Unsupported(u) => MediaError::Corrupt(format!("unsupported variant: {u}")),
        E::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Corrupt("unexpected end of file".into())
        }
        e => MediaError::Corrupt(e.to_string()),
    }
}

fn finish(
    rgb: RgbImage,
    (w, h): (u32, u32),
    format: &'static str,
    orientation: Orientation,
    opts: &DecodeOptions,
) -> Result<Decoded, MediaError> {
    if rgb.width == 0 || rgb.height == 0 {
        return Err(MediaError::NoPixels);
    }
    let code = orientation_code(orientation);
    let (rgb, w, h) = if opts.apply_orientation && code != 1 {
        let swaps = matches!(code, 5..=8);
        let img = image::RgbImage::from_raw(rgb.width, rgb.height, rgb.data).expect("sized");
        let mut dynimg = DynamicImage::ImageRgb8(img);
        dynimg.apply_orientation(orientation);
        let img = dynimg.into_rgb8();
        let (ow, oh) = if swaps { (h, w) } else { (w, h) };
        (
            RgbImage {
                width: img.width(),
                height: img.height(),
                data: img.into_raw(),
            },
            ow,
            oh,
        )
    } else {
        (rgb, w, h)
    };
    Ok(Decoded {
        rgb,
        width: w,
        height: h,
        format,
        orientation: code,
    })
}

fn orientation_from_code(code: u8) -> Orientation {
    Orientation::from_exif(code).unwrap_or(Orientation::NoTransforms)
}

fn orientation_code(o: Orientation) -> u8 {
    match o {
        Orientation::NoTransforms => 1,
        Orientation::FlipHorizontal => 2,
        Orientation::Rotate180 => 3,
        Orientation::FlipVertical => 4,
        Orientation::Rotate90FlipH => 5,
        Orientation::Rotate90 => 6,
        Orientation::Rotate270FlipH => 7,
        Orientation::Rotate270 => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmyk_matches_pillow_formula() {
        assert_eq!(cmyk_to_rgb(0, 0, 0, 0), [255, 255, 255]);
        assert_eq!(cmyk_to_rgb(255, 255, 255, 0), [0, 0, 0]);
        assert_eq!(cmyk_to_rgb(0, 0, 0, 255), [0, 0, 0]);
        assert_eq!(cmyk_to_rgb(128, 0, 0, 0)[0], 127);
    }

    #[test]
    fn scale16_endpoints() {
        assert_eq!(scale16(0), 0);
        assert_eq!(scale16(65535), 255);
        assert_eq!(scale16(257 * 128), 128);
    }

    #[test]
    fn empty_and_garbage_are_errors() {
        let o = DecodeOptions::default();
        assert_eq!(decode(b"", &o).unwrap_err(), MediaError::Empty);
        assert_eq!(
            decode(b"hello, this is text", &o).unwrap_err(),
            MediaError::Unsupported
        );
        assert!(matches!(
            decode(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10], &o),
            Err(MediaError::Corrupt(_))
        ));
    }
}
