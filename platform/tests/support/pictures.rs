//! Synthetic photos and the re-uploads platforms see (rotated, mirrored,
//! letterboxed, padded, re-encoded, resized).

use image::{ImageFormat, Rgb, RgbImage, imageops};
use std::io::Cursor;

use super::Rng;

/// A photo-like picture: a smooth two-colour gradient with random shapes.
pub fn photo(seed: u64, w: u32, h: u32) -> RgbImage {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let c0: [u8; 3] = rng.bytes();
    // Far apart in every channel, so no row or column of the background is uniform.
    let c1: [u8; 3] = c0.map(|c| c ^ 0x80);
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let t = (x + y) as f32 / (w + h) as f32;
        Rgb(std::array::from_fn(|i| {
            (c0[i] as f32 * (1.0 - t) + c1[i] as f32 * t) as u8
        }))
    });
    for _ in 0..30 {
        let col: [u8; 3] = rng.bytes();
        let cx = (rng.next() % u64::from(w)) as i64;
        let cy = (rng.next() % u64::from(h)) as i64;
        let rx = 10 + (rng.next() % u64::from(w / 4)) as i64;
        let ry = 10 + (rng.next() % u64::from(h / 4)) as i64;
        let ellipse = rng.next().is_multiple_of(2);
        for y in (cy - ry).max(0)..(cy + ry).min(i64::from(h)) {
            for x in (cx - rx).max(0)..(cx + rx).min(i64::from(w)) {
                let (dx, dy) = ((x - cx) as f64 / rx as f64, (y - cy) as f64 / ry as f64);
                if !ellipse || dx * dx + dy * dy <= 1.0 {
                    img.put_pixel(x as u32, y as u32, Rgb(col));
                }
            }
        }
    }
    img
}

/// JPEG bytes at `quality`.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.write_with_encoder(enc).unwrap();
    out
}

/// PNG bytes.
pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The picture on a larger canvas of one colour (`top`/`side` pixels added).
pub fn bordered(img: &RgbImage, top: u32, side: u32, colour: [u8; 3]) -> RgbImage {
    let mut c = RgbImage::from_pixel(img.width() + 2 * side, img.height() + 2 * top, Rgb(colour));
    imageops::overlay(&mut c, img, i64::from(side), i64::from(top));
    c
}

/// The transforms a re-upload goes through: (name, encoded bytes).
pub fn reuploads(img: &RgbImage) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("jpeg50", jpeg(img, 50)),
        ("png", png(img)),
        (
            "resized_half",
            jpeg(
                &imageops::resize(
                    img,
                    img.width() / 2,
                    img.height() / 2,
                    imageops::FilterType::Triangle,
                ),
                85,
            ),
        ),
        ("rotate90", jpeg(&imageops::rotate90(img), 85)),
        ("mirrored", jpeg(&imageops::flip_horizontal(img), 85)),
        (
            "letterboxed",
            jpeg(&bordered(img, img.height() / 4, 0, [0, 0, 0]), 85),
        ),
        ("padded", jpeg(&bordered(img, 40, 40, [255, 255, 255]), 85)),
    ]
}
