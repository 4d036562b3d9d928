//! Query expansion: the variants of a query picture that are searched besides
//! its own PDQ.
//!
//! * The 8 dihedral variants (rotations by 90°, mirror images, transposes),
//!   derived from the PDQ's DCT by the fingerprint crate: a re-upload that was
//!   rotated or mirrored matches the listed original.
//! * The picture with uniform borders trimmed (letterbox bars, padding, frames
//!   added on repost), re-hashed, with its 8 dihedrals as well.
//!
//! Variant names: `original`, `rotate90`, `rotate180`, `rotate270`, `flipx`,
//! `flipy`, `flipplus1`, `flipminus1`, and the same prefixed with `trimmed+`
//! (`trimmed` alone for the trimmed picture as is).

use crate::fingerprint::hashing::pdq::{self, PdqDigest};
use crate::fingerprint::media::RgbImage;
use crate::matcher::QueryPdq;

/// Names of the dihedral variants, in the order of `Dihedrals::all`.
pub const DIHEDRAL_NAMES: [&str; 8] = [
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
];

/// Which variants to search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpandOptions {
    /// Search the 8 dihedral variants.
    pub dihedrals: bool,
    /// Search the picture with uniform borders trimmed.
    pub trim: bool,
    /// A border pixel may differ from the border's colour by this much per channel
    /// (JPEG noise, gradients in a frame).
    pub tolerance: u8,
    /// Share of pixels of a border row or column allowed outside the tolerance.
    pub max_outliers: f64,
}

impl Default for ExpandOptions {
    fn default() -> Self {
        ExpandOptions {
            dihedrals: true,
            trim: true,
            tolerance: 24,
            max_outliers: 0.02,
        }
    }
}

impl ExpandOptions {
    /// Only the picture's own PDQ (expansion off).
    pub fn none() -> Self {
        ExpandOptions {
            dihedrals: false,
            trim: false,
            ..Self::default()
        }
    }
}

fn variants_of(prefix: Option<&str>, d: &PdqDigest, dihedrals: bool, out: &mut Vec<QueryPdq>) {
    let all = d.dihedrals().all();
    let n = if dihedrals { 8 } else { 1 };
    for (i, h) in all.iter().enumerate().take(n) {
        let variant = match (prefix, i) {
            (None, _) => DIHEDRAL_NAMES[i].to_string(),
            (Some(p), 0) => p.to_string(),
            (Some(p), _) => format!("{p}+{}", DIHEDRAL_NAMES[i]),
        };
        out.push(QueryPdq {
            variant,
            hash: h.0,
            quality: d.pdq.quality,
        });
    }
}

/// The query variants of a decoded picture.
pub fn query_variants(rgb: &RgbImage, opts: &ExpandOptions) -> Vec<QueryPdq> {
    let mut out = Vec::with_capacity(16);
    let d = pdq::pdq_from_rgb(&rgb.data, rgb.width as usize, rgb.height as usize);
    variants_of(None, &d, opts.dihedrals, &mut out);
    if opts.trim
        && let Some(t) = trim_borders(rgb, opts.tolerance, opts.max_outliers)
    {
        let d = pdq::pdq_from_rgb(&t.data, t.width as usize, t.height as usize);
        variants_of(Some("trimmed"), &d, opts.dihedrals, &mut out);
    }
    out
}

/// A window of an RGB image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rect {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

struct Img<'a> {
    data: &'a [u8],
    w: usize,
}

impl Img<'_> {
    fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.w + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// Whether the line of pixels `pts` is uniform around `reference`.
fn uniform(
    img: &Img<'_>,
    pts: impl Iterator<Item = (usize, usize)> + Clone,
    reference: [i32; 3],
    tol: i32,
    max_out: f64,
) -> bool {
    let mut n = 0usize;
    let mut out = 0usize;
    for (x, y) in pts {
        n += 1;
        let p = img.px(x, y);
        if (0..3).any(|c| (i32::from(p[c]) - reference[c]).abs() > tol) {
            out += 1;
        }
    }
    n > 0 && (out as f64) <= max_out * n as f64
}

fn mean(img: &Img<'_>, pts: impl Iterator<Item = (usize, usize)>) -> [i32; 3] {
    let mut s = [0u64; 3];
    let mut n = 0u64;
    for (x, y) in pts {
        let p = img.px(x, y);
        for c in 0..3 {
            s[c] += u64::from(p[c]);
        }
        n += 1;
    }
    let n = n.max(1);
    [(s[0] / n) as i32, (s[1] / n) as i32, (s[2] / n) as i32]
}

/// One pass: trims each side while its lines are uniform around the colour of the
/// outermost line of that side.
fn trim_pass(img: &Img<'_>, r: Rect, tol: i32, max_out: f64) -> Rect {
    let mut r = r;
    // Top.
    let refc = mean(img, (r.x0..r.x1).map(|x| (x, r.y0)));
    while r.y1 - r.y0 > 1 && uniform(img, (r.x0..r.x1).map(|x| (x, r.y0)), refc, tol, max_out) {
        r.y0 += 1;
    }
    // Bottom.
    let refc = mean(img, (r.x0..r.x1).map(|x| (x, r.y1 - 1)));
    while r.y1 - r.y0 > 1 && uniform(img, (r.x0..r.x1).map(|x| (x, r.y1 - 1)), refc, tol, max_out) {
        r.y1 -= 1;
    }
    // Left.
    let refc = mean(img, (r.y0..r.y1).map(|y| (r.x0, y)));
    while r.x1 - r.x0 > 1 && uniform(img, (r.y0..r.y1).map(|y| (r.x0, y)), refc, tol, max_out) {
        r.x0 += 1;
    }
    // Right.
    let refc = mean(img, (r.y0..r.y1).map(|y| (r.x1 - 1, y)));
    while r.x1 - r.x0 > 1 && uniform(img, (r.y0..r.y1).map(|y| (r.x1 - 1, y)), refc, tol, max_out) {
        r.x1 -= 1;
    }
    r
}

/// The picture without its uniform borders, or `None` when there is nothing to
/// trim (or what would be left is under a quarter of a side, e.g. a blank picture).
pub fn trim_borders(rgb: &RgbImage, tolerance: u8, max_outliers: f64) -> Option<RgbImage> {
    let (w, h) = (rgb.width as usize, rgb.height as usize);
    if w < 8 || h < 8 || rgb.data.len() < w * h * 3 {
        return None;
    }
    let img = Img { data: &rgb.data, w };
    let full = Rect {
        x0: 0,
        y0: 0,
        x1: w,
        y1: h,
    };
    let mut r = full;
    // Nested frames (a white mat inside a black frame) need a second pass.
    for _ in 0..3 {
        let next = trim_pass(&img, r, i32::from(tolerance), max_outliers);
        if next == r {
            break;
        }
        r = next;
    }
    let (cw, ch) = (r.x1 - r.x0, r.y1 - r.y0);
    let trimmed = (w - cw) + (h - ch);
    if trimmed < 2 || cw * 4 < w || ch * 4 < h || cw < pdq::MIN_DIMENSION || ch < pdq::MIN_DIMENSION
    {
        return None;
    }
    let mut data = Vec::with_capacity(cw * ch * 3);
    for y in r.y0..r.y1 {
        let s = (y * w + r.x0) * 3;
        data.extend_from_slice(&rgb.data[s..s + cw * 3]);
    }
    Some(RgbImage {
        width: cw as u32,
        height: ch as u32,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(w: usize, h: usize, seed: u32) -> Vec<u8> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..w * h * 3)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn trims_letterbox_bars_and_a_nested_frame_exactly() {
        let (w, h) = (40, 30);
        let inner = noise(w, h, 3);
        // 10 black rows on top and bottom, then a 3-pixel white mat left and right.
        let (bw, bh) = (w + 6, h + 20);
        let mut data = vec![0u8; bw * bh * 3];
        for y in 0..h {
            for x in 0..bw {
                let o = ((y + 10) * bw + x) * 3;
                if x < 3 || x >= 3 + w {
                    data[o..o + 3].copy_from_slice(&[250, 250, 250]);
                } else {
                    let i = (y * w + x - 3) * 3;
                    data[o..o + 3].copy_from_slice(&inner[i..i + 3]);
                }
            }
        }
        let t = trim_borders(
            &RgbImage {
                width: bw as u32,
                height: bh as u32,
                data,
            },
            24,
            0.02,
        )
        .unwrap();
        assert_eq!((t.width as usize, t.height as usize), (w, h));
        assert_eq!(t.data, inner);
    }

    #[test]
    fn leaves_pictures_without_borders_and_blank_pictures_alone() {
        let img = RgbImage {
            width: 32,
            height: 32,
            data: noise(32, 32, 9),
        };
        assert!(trim_borders(&img, 24, 0.02).is_none());
        let blank = RgbImage {
            width: 32,
            height: 32,
            data: vec![128; 32 * 32 * 3],
        };
        assert!(trim_borders(&blank, 24, 0.02).is_none());
    }
}
