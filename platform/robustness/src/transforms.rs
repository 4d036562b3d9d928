//! Re-uploads as platforms see them. Each transform starts from the decoded
//! original JPEG (what an upload pipeline receives) and returns the bytes of
//! the copy.

use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::{self, FilterType};
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};

use crate::photos::encode_jpeg;

/// The re-upload transforms measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transform {
    /// Re-encoded as JPEG at quality 50.
    Jpeg50,
    /// Re-encoded as WebP (the `image` crate writes lossless WebP).
    Webp,
    /// Resized to 1080 pixels on the long side (JPEG 85).
    Resize1080,
    /// Resized to 320 pixels on the long side (JPEG 85).
    Resize320,
    /// Greyscale (JPEG 85).
    Grey,
    /// Brightened by 40 levels (JPEG 85).
    Bright,
    /// Saved as PNG.
    Png,
    /// Pixels stored rotated with EXIF orientation 6 (viewers rotate it back).
    Exif6,
    /// Mirrored left-right (JPEG 85).
    Mirror,
    /// Rotated 90° clockwise (JPEG 85).
    Rotate90,
    /// A uniform border of 6 % of the shorter side added around (JPEG 85).
    Border,
    /// A black caption bar over the bottom 12 % (JPEG 85).
    CaptionBar,
    /// 4 % cut off each side (JPEG 85).
    Crop,
}

impl Transform {
    /// Every transform, in table order.
    pub const ALL: [Transform; 13] = [
        Transform::Jpeg50,
        Transform::Webp,
        Transform::Resize1080,
        Transform::Resize320,
        Transform::Grey,
        Transform::Bright,
        Transform::Png,
        Transform::Exif6,
        Transform::Mirror,
        Transform::Rotate90,
        Transform::Border,
        Transform::CaptionBar,
        Transform::Crop,
    ];

    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Transform::Jpeg50 => "jpeg q50",
            Transform::Webp => "webp",
            Transform::Resize1080 => "resize 1080",
            Transform::Resize320 => "resize 320",
            Transform::Grey => "grey",
            Transform::Bright => "brightened +40",
            Transform::Png => "png",
            Transform::Exif6 => "exif orientation 6",
            Transform::Mirror => "mirrored",
            Transform::Rotate90 => "rotated 90",
            Transform::Border => "border 6 %",
            Transform::CaptionBar => "caption bar 12 %",
            Transform::Crop => "crop 4 %/side",
        }
    }

    /// The goal for this transform with expansion on (share of copies matched).
    pub fn goal(self) -> f64 {
        if self == Transform::Crop { 0.50 } else { 0.90 }
    }

    /// Applies the transform to the decoded original; `variant` picks per-copy
    /// choices (border colour).
    pub fn apply(self, img: &RgbImage, variant: u64) -> Vec<u8> {
        const Q: u8 = 85;
        match self {
            Transform::Jpeg50 => encode_jpeg(img, 50),
            Transform::Webp => {
                let mut out = Vec::new();
                WebPEncoder::new_lossless(&mut out)
                    .write_image(
                        img.as_raw(),
                        img.width(),
                        img.height(),
                        ExtendedColorType::Rgb8,
                    )
                    .expect("WebP encoding into memory");
                out
            }
            Transform::Resize1080 => encode_jpeg(&resize_long_side(img, 1080), Q),
            Transform::Resize320 => encode_jpeg(&resize_long_side(img, 320), Q),
            Transform::Grey => {
                let g = imageops::grayscale(img);
                let mut out = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, Q)
                    .write_image(g.as_raw(), g.width(), g.height(), ExtendedColorType::L8)
                    .expect("JPEG encoding into memory");
                out
            }
            Transform::Bright => encode_jpeg(&imageops::brighten(img, 40), Q),
            Transform::Png => {
                let mut out = Vec::new();
                PngEncoder::new(&mut out)
                    .write_image(
                        img.as_raw(),
                        img.width(),
                        img.height(),
                        ExtendedColorType::Rgb8,
                    )
                    .expect("PNG encoding into memory");
                out
            }
            Transform::Exif6 => {
                // Orientation 6: "rotate 90° clockwise to display", so the stored
                // pixels are the picture turned 90° counter-clockwise.
                with_orientation(&encode_jpeg(&imageops::rotate270(img), Q), 6)
            }
            Transform::Mirror => encode_jpeg(&imageops::flip_horizontal(img), Q),
            Transform::Rotate90 => encode_jpeg(&imageops::rotate90(img), Q),
            Transform::Border => {
                let colours = [[255, 255, 255], [0, 0, 0], [32, 32, 32], [240, 236, 220]];
                let c = Rgb(colours[(variant % 4) as usize]);
                let b = (img.width().min(img.height()) * 6 / 100).max(1);
                let mut out = RgbImage::from_pixel(img.width() + 2 * b, img.height() + 2 * b, c);
                imageops::replace(&mut out, img, i64::from(b), i64::from(b));
                encode_jpeg(&out, Q)
            }
            Transform::CaptionBar => caption_bar(img, 12, false),
            Transform::Crop => {
                let dx = img.width() * 4 / 100;
                let dy = img.height() * 4 / 100;
                let c =
                    imageops::crop_imm(img, dx, dy, img.width() - 2 * dx, img.height() - 2 * dy)
                        .to_image();
                encode_jpeg(&c, Q)
            }
        }
    }
}

/// Resized so the long side is `long` pixels (never enlarged).
pub fn resize_long_side(img: &RgbImage, long: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let m = w.max(h);
    if m <= long {
        return img.clone();
    }
    let nw = ((u64::from(w) * u64::from(long)) / u64::from(m)).max(1) as u32;
    let nh = ((u64::from(h) * u64::from(long)) / u64::from(m)).max(1) as u32;
    imageops::resize(img, nw, nh, FilterType::Triangle)
}

/// The central `keep` share (e.g. 0.9) of a picture, each side cut equally.
pub fn central_crop(img: &RgbImage, keep: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let cw = ((f64::from(w) * keep).round() as u32).clamp(1, w);
    let ch = ((f64::from(h) * keep).round() as u32).clamp(1, h);
    imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

/// A black caption bar over the top (`top`) or bottom `pct` % of the picture,
/// drawn over its content, as JPEG 85.
pub fn caption_bar(img: &RgbImage, pct: u32, top: bool) -> Vec<u8> {
    let mut out = img.clone();
    let h = img.height();
    let bar = h * pct / 100;
    let rows = if top { 0..bar } else { h - bar..h };
    for y in rows {
        for x in 0..img.width() {
            out.put_pixel(x, y, Rgb([0, 0, 0]));
        }
    }
    encode_jpeg(&out, 85)
}

/// The JPEG with an EXIF APP1 segment holding only the orientation tag,
/// inserted right after the start-of-image marker.
pub fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08"); // big-endian, IFD at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let len = (payload.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + payload.len() + 4);
    out.extend_from_slice(&jpeg[..2]); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::media;
    use crate::photos::{SizeRange, generate};

    #[test]
    fn exif_copy_is_read_as_orientation_6_and_shown_upright() {
        let p = generate(3, SizeRange::SMALL);
        let copy = Transform::Exif6.apply(&p.pixels, 0);
        let d = media::decode(&copy, &media::DecodeOptions::default()).expect("decode");
        assert_eq!(d.orientation, 6);
        assert_eq!((d.width, d.height), p.pixels.dimensions());
    }

    #[test]
    fn crop_and_resize_have_the_expected_sizes() {
        let p = generate(4, SizeRange::SMALL);
        let r = resize_long_side(&p.pixels, 320);
        assert_eq!(r.width().max(r.height()), 320);
        let c = central_crop(&p.pixels, 0.9);
        assert!(c.width() < p.pixels.width() && c.height() < p.pixels.height());
    }
}
