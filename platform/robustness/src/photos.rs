//! Generated camera-like photos.
//!
//! A scene is a sky-like gradient at a random angle, a few low-frequency
//! "terrain" waves, 4–14 objects (discs, ellipses, rectangles, some with a
//! striped or checked texture and soft edges), a vignette and sensor noise,
//! saved as JPEG at quality 85–92. Everything is drawn from the seed, so a set
//! is reproducible without committing any picture.

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Pixel-count range of generated photos.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizeRange {
    /// Smallest size, in megapixels.
    pub min_mp: f64,
    /// Largest size, in megapixels.
    pub max_mp: f64,
}

impl SizeRange {
    /// Phone-camera sizes (1–4 MP).
    pub const CAMERA: SizeRange = SizeRange {
        min_mp: 1.0,
        max_mp: 4.0,
    };
    /// Small pictures for quick tests (0.3–0.8 MP).
    pub const SMALL: SizeRange = SizeRange {
        min_mp: 0.3,
        max_mp: 0.8,
    };
}

/// One generated photo.
#[derive(Clone)]
pub struct Photo {
    /// The pixels as generated (before JPEG).
    pub pixels: RgbImage,
    /// The photo as the camera saved it (JPEG).
    pub jpeg: Vec<u8>,
}

enum Shape {
    Disc { cx: f32, cy: f32, rx: f32, ry: f32 },
    Rect { x0: f32, y0: f32, x1: f32, y1: f32 },
}

enum Texture {
    Flat,
    Stripes { fx: f32, fy: f32, amp: f32 },
    Checks { cell: f32, amp: f32 },
}

struct Object {
    shape: Shape,
    color: [f32; 3],
    texture: Texture,
    soft: f32,
}

fn rand_color(rng: &mut StdRng) -> [f32; 3] {
    [
        rng.random_range(0.0..255.0),
        rng.random_range(0.0..255.0),
        rng.random_range(0.0..255.0),
    ]
}

/// Width and height for a photo of `mp` megapixels in a common aspect ratio.
fn dimensions(rng: &mut StdRng, sizes: SizeRange) -> (u32, u32) {
    let mp = rng.random_range(sizes.min_mp..=sizes.max_mp);
    let (a, b) = [(4.0, 3.0), (3.0, 2.0), (16.0, 9.0), (1.0, 1.0)][rng.random_range(0..4)];
    let portrait = rng.random_bool(0.35);
    let px = mp * 1_000_000.0;
    let h = (px * b / a).sqrt();
    let w = h * a / b;
    let (w, h) = (w.round().max(16.0) as u32, h.round().max(16.0) as u32);
    if portrait { (h, w) } else { (w, h) }
}

/// Generates the photo for `seed`.
pub fn generate(seed: u64, sizes: SizeRange) -> Photo {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7a6b_3c1d_5e2f_9a8b);
    let (w, h) = dimensions(&mut rng, sizes);
    let (wf, hf) = (w as f32, h as f32);
    let angle: f32 = rng.random_range(0.0..std::f32::consts::TAU);
    let (ga, gb) = (rand_color(&mut rng), rand_color(&mut rng));
    let waves: Vec<(f32, f32, f32, f32)> = (0..rng.random_range(2..5))
        .map(|_| {
            (
                rng.random_range(0.5..4.0),
                rng.random_range(0.5..4.0),
                rng.random_range(0.0..std::f32::consts::TAU),
                rng.random_range(10.0..45.0),
            )
        })
        .collect();
    let objects: Vec<Object> = (0..rng.random_range(4..15))
        .map(|_| {
            let cx = rng.random_range(0.0..wf);
            let cy = rng.random_range(0.0..hf);
            let size = rng.random_range(0.05..0.35) * wf.min(hf);
            let shape = if rng.random_bool(0.5) {
                Shape::Disc {
                    cx,
                    cy,
                    rx: size,
                    ry: size * rng.random_range(0.5..1.5),
                }
            } else {
                let bw = size * rng.random_range(0.6..2.0);
                let bh = size * rng.random_range(0.6..2.0);
                Shape::Rect {
                    x0: cx - bw,
                    y0: cy - bh,
                    x1: cx + bw,
                    y1: cy + bh,
                }
            };
            let texture = match rng.random_range(0..3) {
                0 => Texture::Flat,
                1 => Texture::Stripes {
                    fx: rng.random_range(-0.08..0.08),
                    fy: rng.random_range(-0.08..0.08),
                    amp: rng.random_range(10.0..50.0),
                },
                _ => Texture::Checks {
                    cell: rng.random_range(6.0..40.0),
                    amp: rng.random_range(10.0..40.0),
                },
            };
            Object {
                shape,
                color: rand_color(&mut rng),
                texture,
                soft: rng.random_range(1.0..12.0),
            }
        })
        .collect();
    let noise_amp: f32 = rng.random_range(2.0..9.0);
    let vignette: f32 = rng.random_range(0.0..0.35);
    let quality: u8 = rng.random_range(85..=92);
    let (ca, sa) = (angle.cos(), angle.sin());
    let diag = (wf * wf + hf * hf).sqrt();
    let mut noise = StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));

    let mut img = RgbImage::new(w, h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (xf, yf) = (x as f32, y as f32);
        let t = (((xf - wf / 2.0) * ca + (yf - hf / 2.0) * sa) / diag + 0.5).clamp(0.0, 1.0);
        let mut c = [
            ga[0] + (gb[0] - ga[0]) * t,
            ga[1] + (gb[1] - ga[1]) * t,
            ga[2] + (gb[2] - ga[2]) * t,
        ];
        let mut terrain = 0.0;
        for &(fx, fy, ph, amp) in &waves {
            terrain += amp
                * (xf / wf * fx * std::f32::consts::TAU
                    + yf / hf * fy * std::f32::consts::TAU
                    + ph)
                    .sin();
        }
        for ch in &mut c {
            *ch += terrain;
        }
        for o in &objects {
            // Signed distance-like coverage with a soft edge.
            let inside = match o.shape {
                Shape::Disc { cx, cy, rx, ry } => {
                    let d = (((xf - cx) / rx).powi(2) + ((yf - cy) / ry).powi(2)).sqrt();
                    (1.0 - d) * rx.min(ry)
                }
                Shape::Rect { x0, y0, x1, y1 } => (xf - x0).min(x1 - xf).min(yf - y0).min(y1 - yf),
            };
            if inside <= -o.soft {
                continue;
            }
            let a = ((inside + o.soft) / (2.0 * o.soft)).clamp(0.0, 1.0);
            let tex = match o.texture {
                Texture::Flat => 0.0,
                Texture::Stripes { fx, fy, amp } => amp * (xf * fx + yf * fy).sin(),
                Texture::Checks { cell, amp } => {
                    if ((xf / cell) as i64 + (yf / cell) as i64) % 2 == 0 {
                        amp
                    } else {
                        -amp
                    }
                }
            };
            for (ch, oc) in c.iter_mut().zip(o.color) {
                *ch = *ch * (1.0 - a) + (oc + tex) * a;
            }
        }
        let dx = xf / wf - 0.5;
        let dy = yf / hf - 0.5;
        let v = 1.0 - vignette * (dx * dx + dy * dy) * 2.0;
        let n: f32 = noise.random_range(-noise_amp..noise_amp);
        px.0 = [
            (c[0] * v + n).clamp(0.0, 255.0) as u8,
            (c[1] * v + n).clamp(0.0, 255.0) as u8,
            (c[2] * v + n).clamp(0.0, 255.0) as u8,
        ];
    }
    let jpeg = encode_jpeg(&img, quality);
    Photo { pixels: img, jpeg }
}

/// JPEG of an RGB image at `quality`.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail for a valid image.
    JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("JPEG encoding into memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_photo_and_sizes_are_in_range() {
        let a = generate(7, SizeRange::SMALL);
        let b = generate(7, SizeRange::SMALL);
        assert_eq!(a.jpeg, b.jpeg);
        let mp = f64::from(a.pixels.width()) * f64::from(a.pixels.height()) / 1e6;
        assert!((0.28..=0.82).contains(&mp), "{mp} MP");
        assert_ne!(generate(8, SizeRange::SMALL).jpeg, a.jpeg);
    }
}
