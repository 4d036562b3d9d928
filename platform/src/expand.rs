//! Query expansion: the variants of a query picture that are searched besides
//! its own PDQ.
//!
//! * The 8 dihedral variants (rotations by 90°, mirror images, transposes),
//!   derived from the PDQ's DCT by the fingerprint crate: a re-upload that was
//!   rotated or mirrored matches the listed original.
//! * The picture with uniform borders trimmed (letterbox bars, padding, frames
//!   added on repost), re-hashed, with its 8 dihedrals as well.
//!
//! * `bar-filled`: a uniform bar along one edge only (a caption bar, 4–30 % of the
//!   picture) hides part of the original. The PDQ DCT of the original is estimated
//!   from the rows (or columns) the bar does not touch, by least squares on the
//!   64-point cosine basis with a smoothness prior (see [`estimate`]).
//! * `uncrop-2`, `uncrop-3.5`, `uncrop-5`: the picture taken as the centre of an
//!   original cropped by 2, 3.5 or 5 % per side; the original's DCT is estimated
//!   from the query's samples placed where they lie in the original's frame, the
//!   lost margin being extrapolated by the same estimator.
//!
//! These last four come from the PDQ's own 64×64 buffer, so they cost no extra
//! pass over the pixels: a small matrix product and an index search each.
//!
//! * `bar-cut-20`: when that bar lies along the top or the bottom and is no deeper
//!   than [`EDGE_CUT_PERCENT`] % of the picture, the picture with exactly that
//!   share of rows removed from that edge ([`bar_cut`]), re-hashed. The phone lists
//!   the same cut of the original (`takedown_fingerprint::hashing::cuts`, ADR
//!   0410), and the bar hides nothing the cut keeps, so this query is the listed
//!   cut up to re-encoding. One more PDQ pass over the kept rows, only when such a
//!   bar is found.
//!
//! Variant names: `original`, `rotate90`, `rotate180`, `rotate270`, `flipx`,
//! `flipy`, `flipplus1`, `flipminus1`, and the same prefixed with `trimmed+`
//! (`trimmed` alone for the trimmed picture as is), then `bar-filled`,
//! `bar-cut-20`, `uncrop-2`, `uncrop-3.5`, `uncrop-5`.

use takedown_protocol::{CutEdge, EDGE_CUT_PERCENT, edge_cut_rows};

use crate::fingerprint::hashing::cuts::kept_rows;
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
    /// Search `bar-filled` when a uniform bar lies along one edge only.
    pub fill_bar: bool,
    /// Search the `uncrop-*` variants (the query as the centre of a cropped original).
    pub uncrop: bool,
    /// Search `bar-cut-20` (the listed edge cut the query's top or bottom bar
    /// falls in, [`bar_cut`]).
    pub bar_cut: bool,
}

impl Default for ExpandOptions {
    fn default() -> Self {
        ExpandOptions {
            dihedrals: true,
            trim: true,
            tolerance: 24,
            max_outliers: 0.02,
            fill_bar: true,
            uncrop: true,
            bar_cut: true,
        }
    }
}

impl ExpandOptions {
    /// Only the picture's own PDQ (expansion off).
    pub fn none() -> Self {
        ExpandOptions {
            dihedrals: false,
            trim: false,
            fill_bar: false,
            uncrop: false,
            bar_cut: false,
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
    let mut out = Vec::with_capacity(20);
    let (w, h) = (rgb.width as usize, rgb.height as usize);
    // The PDQ's 64×64 buffer, kept for the estimated variants (`None`: too small,
    // hashes to zero like `pdq_from_rgb`).
    let grid = (rgb.data.len() >= w * h * 3)
        .then(|| pdq::pdq_grid_from_rgb(&rgb.data, w, h))
        .flatten();
    let d = match &grid {
        Some(g) => pdq::pdq_from_grid(g),
        None => pdq::pdq_from_rgb(&rgb.data, w, h),
    };
    variants_of(None, &d, opts.dihedrals, &mut out);
    if opts.trim
        && let Some(t) = trim_borders(rgb, opts.tolerance, opts.max_outliers)
    {
        let d = pdq::pdq_from_rgb(&t.data, t.width as usize, t.height as usize);
        variants_of(Some("trimmed"), &d, opts.dihedrals, &mut out);
    }
    let Some(grid) = grid else {
        return out;
    };
    let bar = (opts.fill_bar || opts.bar_cut)
        .then(|| edge_bar(rgb, opts.tolerance, opts.max_outliers))
        .flatten();
    let quality = d.pdq.quality;
    let estimated = |variant: &str, dct: [[f32; 16]; 16]| QueryPdq {
        variant: variant.to_string(),
        hash: pdq::hash_from_dct(&dct).0,
        quality,
    };
    if opts.fill_bar
        && let Some(bar) = bar
    {
        out.push(estimated(
            "bar-filled",
            estimate::bar_filled(&grid, bar, w, h),
        ));
    }
    if opts.bar_cut
        && let Some(bar) = bar
        && let Some(q) = bar_cut(rgb, bar)
    {
        out.push(q);
    }
    if opts.uncrop {
        for (name, margin) in UNCROP_MARGINS {
            out.push(estimated(name, estimate::uncropped(&grid, margin)));
        }
    }
    out
}

/// Name of the [`bar_cut`] variant: `bar-cut-20`.
pub fn bar_cut_name() -> String {
    format!("bar-cut-{EDGE_CUT_PERCENT}")
}

/// The `bar-cut-20` query of a picture with `bar` (found by [`edge_bar`]): when
/// the bar lies along the top or the bottom and is at most
/// [`edge_cut_rows`]`(height, EDGE_CUT_PERCENT)` rows deep, the PDQ of the picture
/// with exactly those rows removed from that edge ([`kept_rows`], the definition
/// the phone lists its edge cuts by), with its own quality. `None` for a bar on
/// a side, a deeper bar, or a picture too small to cut.
pub fn bar_cut(rgb: &RgbImage, bar: Bar) -> Option<QueryPdq> {
    let edge = match bar.edge {
        Edge::Top => CutEdge::Top,
        Edge::Bottom => CutEdge::Bottom,
        Edge::Left | Edge::Right => return None,
    };
    let (w, h) = (rgb.width as usize, rgb.height as usize);
    if bar.lines > edge_cut_rows(rgb.height, EDGE_CUT_PERCENT) as usize
        || w < pdq::MIN_DIMENSION
        || rgb.data.len() < w * h * 3
    {
        return None;
    }
    let (start, end) = kept_rows(edge, h)?;
    let d = pdq::pdq_from_pixels(&rgb.data[start * w * 3..], w, end - start, 3, w * 3);
    Some(QueryPdq {
        variant: bar_cut_name(),
        hash: d.pdq.hash.0,
        quality: d.pdq.quality,
    })
}

/// The `uncrop-*` variants: the share of each side an original is assumed to have
/// lost. Extrapolation recovers crops up to about 5 % per side and few beyond
/// (ADR 0407); each guess also covers about ±1 % around it, hence a 1.5 % step.
pub const UNCROP_MARGINS: [(&str, f64); 3] = [
    ("uncrop-2", 0.02),
    ("uncrop-3.5", 0.035),
    ("uncrop-5", 0.05),
];

/// An edge of a picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// The first rows.
    Top,
    /// The last rows.
    Bottom,
    /// The first columns.
    Left,
    /// The last columns.
    Right,
}

/// A uniform bar along one edge: which edge and how many pixel lines deep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// The edge the bar lies along.
    pub edge: Edge,
    /// Its depth in rows (top, bottom) or columns (left, right).
    pub lines: usize,
}

/// Whether the `len` pixels from `(x0, y0)` in steps of `(dx, dy)` are uniform
/// around `reference` (as [`uniform`], stopping at the first outlier too many).
#[allow(clippy::too_many_arguments)]
fn uniform_line(
    img: &Img<'_>,
    (x0, y0): (usize, usize),
    (dx, dy): (usize, usize),
    len: usize,
    reference: [i32; 3],
    tol: i32,
    max_out: f64,
) -> bool {
    let allowed = (max_out * len as f64).floor() as usize;
    let mut out = 0usize;
    for t in 0..len {
        let p = img.px(x0 + t * dx, y0 + t * dy);
        if (0..3).any(|c| (i32::from(p[c]) - reference[c]).abs() > tol) {
            out += 1;
            if out > allowed {
                return false;
            }
        }
    }
    len > 0
}

/// Number of lines from one edge that are uniform around the colour of the
/// outermost one, counted up to `limit`.
fn uniform_depth(
    img: &Img<'_>,
    w: usize,
    h: usize,
    edge: Edge,
    tol: i32,
    max_out: f64,
    limit: usize,
) -> usize {
    // Line `i` from the edge: its first pixel, its step and its length.
    let line = |i: usize| -> ((usize, usize), (usize, usize), usize) {
        match edge {
            Edge::Top => ((0, i), (1, 0), w),
            Edge::Bottom => ((0, h - 1 - i), (1, 0), w),
            Edge::Left => ((i, 0), (0, 1), h),
            Edge::Right => ((w - 1 - i, 0), (0, 1), h),
        }
    };
    let ((x0, y0), (dx, dy), len) = line(0);
    let refc = mean(img, (0..len).map(|t| (x0 + t * dx, y0 + t * dy)));
    let mut n = 0;
    while n < limit {
        let (start, step, len) = line(n);
        if !uniform_line(img, start, step, len, refc, tol, max_out) {
            break;
        }
        n += 1;
    }
    n
}

/// A uniform bar (a caption bar) along exactly one edge, 4–30 % of the picture
/// deep, with no uniform line along the other three (a letterbox or a frame is
/// the trimmer's case). `None` otherwise.
pub fn edge_bar(rgb: &RgbImage, tolerance: u8, max_outliers: f64) -> Option<Bar> {
    let (w, h) = (rgb.width as usize, rgb.height as usize);
    if w < 16 || h < 16 || rgb.data.len() < w * h * 3 {
        return None;
    }
    let img = Img { data: &rgb.data, w };
    let tol = i32::from(tolerance);
    let mut found = None;
    for edge in [Edge::Top, Edge::Bottom, Edge::Left, Edge::Right] {
        let dim = if matches!(edge, Edge::Top | Edge::Bottom) {
            h
        } else {
            w
        };
        let limit = dim * 30 / 100 + 1;
        let n = uniform_depth(&img, w, h, edge, tol, max_outliers, limit);
        if n == 0 {
            continue;
        }
        if found.is_some() || n * 100 < dim * 4 || n >= limit {
            return None;
        }
        found = Some(Bar { edge, lines: n });
    }
    found
}

pub mod estimate {
    //! Estimating the PDQ DCT of an original of which part is unknown.
    //!
    //! PDQ thresholds the coefficients of frequencies 1..=16 of the 64-point DCT-II
    //! of its 64×64 buffer. When only some samples of that buffer are known (the
    //! rows a caption bar leaves, or a crop's samples at their places in the
    //! original's frame), each axis is fitted separately with the full 64-cosine
    //! basis by regularised least squares:
    //! `c = argmin ‖B c − x‖² + λ Σₖ (k/16)² cₖ²`, a maximum a posteriori estimate
    //! under a prior whose power falls as 1/k² (as in natural pictures), which
    //! extrapolates smoothly into the unknown part. An axis known at all 64 places
    //! uses the exact DCT. The estimator of an axis is a 16 × n matrix, computed
    //! once per shape and cached.

    use std::sync::OnceLock;

    use super::{Bar, Edge};

    /// Weight λ of the prior (the buffer is in luma units, 0–255).
    pub const LAMBDA: f64 = 0.1;

    /// Rows 1..=16 of the estimator for samples at `positions` (in cells of the
    /// 64-cell frame, cell `i` at `i`): a 16 × n matrix, row-major.
    pub fn estimator(positions: &[f64]) -> Vec<f64> {
        let n = positions.len();
        const K: usize = 64;
        let scale = |k: usize| {
            if k == 0 {
                (1.0f64 / 64.0).sqrt()
            } else {
                (2.0f64 / 64.0).sqrt()
            }
        };
        // B: n × K.
        let mut b = vec![0f64; n * K];
        for (s, &u) in positions.iter().enumerate() {
            for k in 0..K {
                b[s * K + k] =
                    scale(k) * (std::f64::consts::PI * k as f64 * (2.0 * u + 1.0) / 128.0).cos();
            }
        }
        // A = BᵀB + λ diag((k/16)²): K × K, symmetric positive definite.
        let mut a = vec![0f64; K * K];
        for i in 0..K {
            for j in 0..=i {
                let v: f64 = (0..n).map(|s| b[s * K + i] * b[s * K + j]).sum();
                a[i * K + j] = v;
                a[j * K + i] = v;
            }
            let kk = i as f64 / 16.0;
            a[i * K + i] += LAMBDA * kk * kk;
        }
        // Cholesky A = L Lᵀ (lower, in place). The prior makes A positive definite
        // for k ≥ 1; k = 0 is fitted by every sample (n ≥ 1).
        for j in 0..K {
            let mut d = a[j * K + j];
            for p in 0..j {
                d -= a[j * K + p] * a[j * K + p];
            }
            let d = d.max(1e-12).sqrt();
            a[j * K + j] = d;
            for i in j + 1..K {
                let mut v = a[i * K + j];
                for p in 0..j {
                    v -= a[i * K + p] * a[j * K + p];
                }
                a[i * K + j] = v / d;
            }
        }
        // X = A⁻¹ Bᵀ, column by column (one per sample); keep rows 1..=16.
        let mut out = vec![0f64; 16 * n];
        let mut y = [0f64; K];
        for s in 0..n {
            for i in 0..K {
                let mut v = b[s * K + i];
                for p in 0..i {
                    v -= a[i * K + p] * y[p];
                }
                y[i] = v / a[i * K + i];
            }
            for i in (0..K).rev() {
                let mut v = y[i];
                for p in i + 1..K {
                    v -= a[p * K + i] * y[p];
                }
                y[i] = v / a[i * K + i];
            }
            for r in 0..16 {
                out[r * n + s] = y[r + 1];
            }
        }
        out
    }

    /// Rows 1..=16 of the exact 64-point DCT (an axis known everywhere), as PDQ.
    fn exact() -> &'static [f64] {
        static E: OnceLock<Vec<f64>> = OnceLock::new();
        E.get_or_init(|| {
            let mut m = vec![0f64; 16 * 64];
            for r in 0..16 {
                for j in 0..64 {
                    m[r * 64 + j] = (2.0f64 / 64.0).sqrt()
                        * (std::f64::consts::PI * (r + 1) as f64 * (2 * j + 1) as f64 / 128.0)
                            .cos();
                }
            }
            m
        })
    }

    /// `Pv · G[rows][cols] · Phᵀ` with `Pv` 16 × |rows| and `Ph` 16 × |cols|.
    fn apply(
        grid: &[[f32; 64]; 64],
        rows: &[usize],
        pv: &[f64],
        cols: &[usize],
        ph: &[f64],
    ) -> [[f32; 16]; 16] {
        let (nr, nc) = (rows.len(), cols.len());
        // T = G[rows][cols] · Phᵀ: nr × 16.
        let mut t = vec![0f64; nr * 16];
        for (a, &r) in rows.iter().enumerate() {
            for q in 0..16 {
                let mut v = 0f64;
                for (b, &c) in cols.iter().enumerate() {
                    v += f64::from(grid[r][c]) * ph[q * nc + b];
                }
                t[a * 16 + q] = v;
            }
        }
        let mut out = [[0f32; 16]; 16];
        for (p, row) in out.iter_mut().enumerate() {
            for (q, o) in row.iter_mut().enumerate() {
                let v: f64 = (0..nr).map(|a| pv[p * nr + a] * t[a * 16 + q]).sum();
                *o = v as f32;
            }
        }
        out
    }

    /// Cells of a 64-cell axis over `len` pixels whose PDQ sample is untouched by
    /// the first `lines` pixels (`from_start`) or the last ones: the sample's pixel
    /// and the box filters' reach (one Jarosz window) stay clear of the bar.
    pub fn clear_cells(len: usize, lines: usize, from_start: bool) -> Vec<usize> {
        let reach = len.div_ceil(128);
        (0..64)
            .filter(|&i| {
                let p = (((i as f64 + 0.5) * len as f64) / 64.0) as usize;
                if from_start {
                    p >= lines + reach
                } else {
                    p + reach + lines < len
                }
            })
            .collect()
    }

    /// The DCT of the original under a bar: the bar's axis is estimated from the
    /// clear cells, the other axis is exact.
    pub fn bar_filled(
        grid: &[[f32; 64]; 64],
        bar: Bar,
        width: usize,
        height: usize,
    ) -> [[f32; 16]; 16] {
        let all: Vec<usize> = (0..64).collect();
        let (len, from_start) = match bar.edge {
            Edge::Top => (height, true),
            Edge::Bottom => (height, false),
            Edge::Left => (width, true),
            Edge::Right => (width, false),
        };
        let known = clear_cells(len, bar.lines, from_start);
        if known.len() < 16 {
            return apply(grid, &all, exact(), &all, exact());
        }
        // The clear cells are a run from one end of the axis: one estimator per run,
        // computed once.
        static CACHE: [[OnceLock<Vec<f64>>; 65]; 2] =
            [const { [const { OnceLock::new() }; 65] }; 2];
        let p = CACHE[usize::from(from_start)][known.len()].get_or_init(|| {
            let positions: Vec<f64> = known.iter().map(|&i| i as f64).collect();
            estimator(&positions)
        });
        match bar.edge {
            Edge::Top | Edge::Bottom => apply(grid, &known, p, &all, exact()),
            Edge::Left | Edge::Right => apply(grid, &all, exact(), &known, p),
        }
    }

    /// Where the query's 64 samples lie in the frame of an original cropped by
    /// `margin` of each side: sample `j` (at `(j + ½)/64` of the crop) is at
    /// `margin + (1 − 2 margin)(j + ½)/64` of the original, in cells.
    pub fn crop_positions(margin: f64) -> Vec<f64> {
        (0..64)
            .map(|j| 64.0 * (margin + (1.0 - 2.0 * margin) * (j as f64 + 0.5) / 64.0) - 0.5)
            .collect()
    }

    /// The DCT of the original of which the query is the centre, `margin` of each
    /// side cut off (same estimator on both axes).
    pub fn uncropped(grid: &[[f32; 64]; 64], margin: f64) -> [[f32; 16]; 16] {
        static CACHE: OnceLock<Vec<(u64, Vec<f64>)>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| {
            super::UNCROP_MARGINS
                .iter()
                .map(|&(_, m)| (m.to_bits(), estimator(&crop_positions(m))))
                .collect()
        });
        let owned;
        let p = match cache.iter().find(|(m, _)| *m == margin.to_bits()) {
            Some((_, p)) => p.as_slice(),
            None => {
                owned = estimator(&crop_positions(margin));
                owned.as_slice()
            }
        };
        let all: Vec<usize> = (0..64).collect();
        apply(grid, &all, p, &all, p)
    }
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

    /// A camera-like picture: cosine waves of 0 to 23 cycles per half picture on
    /// each axis, with random signs and amplitudes falling as 1/frequency (the
    /// spectrum of natural photos), and a colour tint.
    fn smooth(w: usize, h: usize, seed: u32) -> RgbImage {
        const F: usize = 24;
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            f64::from(s) / f64::from(u32::MAX) * 2.0 - 1.0
        };
        let mut a = [[0f64; F]; F];
        for (ky, row) in a.iter_mut().enumerate() {
            for (kx, v) in row.iter_mut().enumerate() {
                if kx + ky > 0 {
                    *v = 60.0 * rnd() / (kx + ky) as f64;
                }
            }
        }
        let tint = [rnd() * 20.0, rnd() * 20.0, rnd() * 20.0];
        let wave = |k: usize, i: usize, n: usize| {
            (std::f64::consts::PI * k as f64 * (i as f64 + 0.5) / n as f64).cos()
        };
        let mut data = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            let mut r = [0f64; F];
            for (kx, rv) in r.iter_mut().enumerate() {
                *rv = (0..F).map(|ky| a[ky][kx] * wave(ky, y, h)).sum();
            }
            for x in 0..w {
                let l: f64 = 128.0 + (0..F).map(|kx| r[kx] * wave(kx, x, w)).sum::<f64>();
                for t in tint {
                    data.push((l + t).clamp(0.0, 255.0) as u8);
                }
            }
        }
        RgbImage {
            width: w as u32,
            height: h as u32,
            data,
        }
    }

    fn jpeg(img: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode(
                &img.data,
                img.width,
                img.height,
                image::ExtendedColorType::Rgb8,
            )
            .expect("encode");
        out
    }

    fn pdq_of(img: &RgbImage) -> crate::fingerprint::hashing::PdqHash {
        pdq::pdq_from_rgb(&img.data, img.width as usize, img.height as usize)
            .pdq
            .hash
    }

    fn variant<'a>(vs: &'a [QueryPdq], name: &str) -> Option<&'a QueryPdq> {
        vs.iter().find(|q| q.variant == name)
    }

    fn distance(a: &crate::fingerprint::hashing::PdqHash, b: &QueryPdq) -> u32 {
        a.distance(&crate::fingerprint::hashing::PdqHash(b.hash))
    }

    #[test]
    fn bar_filled_is_closer_to_the_original_than_the_captioned_picture() {
        let (mut plain_sum, mut filled_sum, mut closer) = (0, 0, 0);
        for seed in 1..=8 {
            let orig = smooth(360, 300, seed);
            let want = pdq_of(&orig);
            let mut cap = orig.clone();
            let bar = 300 * 12 / 100;
            for b in &mut cap.data[(300 - bar) * 360 * 3..] {
                *b = 0;
            }
            assert_eq!(
                edge_bar(&cap, 24, 0.02),
                Some(Bar {
                    edge: Edge::Bottom,
                    lines: bar
                })
            );
            let vs = query_variants(&cap, &ExpandOptions::default());
            let plain = distance(&want, &vs[0]);
            let filled = distance(&want, variant(&vs, "bar-filled").expect("bar-filled"));
            eprintln!("seed {seed}: captioned {plain}, bar-filled {filled}");
            plain_sum += plain;
            filled_sum += filled;
            closer += usize::from(filled < plain);
        }
        assert!(closer >= 5, "bar-filled closer in {closer} of 8");
        assert!(
            filled_sum < plain_sum,
            "bar-filled {filled_sum} bits in all, captioned {plain_sum}"
        );
    }

    /// With a black bar over the bottom (or top) 5–18 % of a picture, `bar-cut-20`
    /// is the listed cut of the original (as the phone hashes it) up to the bar's
    /// JPEG-free edge: within a few bits, far nearer than the captioned picture is
    /// to the original. No `bar-cut` query without a bar, for a side bar, or for a
    /// bar deeper than 20 %.
    #[test]
    fn bar_cut_lands_on_the_listed_cut_of_the_original() {
        use crate::fingerprint::hashing::cuts::edge_cuts_from_rgb;
        let mut worst = 0;
        for seed in 21..=26 {
            let (w, h) = (330, 260);
            let orig = smooth(w, h, seed);
            let listed = edge_cuts_from_rgb(&orig.data, w, h);
            assert_eq!(listed.len(), 2);
            let plain = query_variants(&orig, &ExpandOptions::default());
            assert!(variant(&plain, &bar_cut_name()).is_none());
            for (pct, top) in [(12, false), (5, true), (18, false), (16, true)] {
                let mut cap = orig.clone();
                let bar = h * pct / 100;
                let rows = if top { 0..bar } else { h - bar..h };
                for y in rows {
                    cap.data[y * w * 3..(y + 1) * w * 3].fill(0);
                }
                let want = listed[usize::from(!top)];
                assert_eq!(want.edge, if top { CutEdge::Top } else { CutEdge::Bottom });
                // The same pixels: exactly the listed cut.
                let vs = query_variants(&cap, &ExpandOptions::default());
                let q = variant(&vs, "bar-cut-20").expect("bar-cut-20");
                assert_eq!(distance(&want.pdq.hash, q), 0);
                // Re-encoded as a JPEG (quality 85), as an upload would be.
                let jpeg = jpeg(&cap);
                let dec =
                    crate::fingerprint::media::decode(&jpeg, &Default::default()).expect("decode");
                let vs = query_variants(&dec.rgb, &ExpandOptions::default());
                let q = variant(&vs, "bar-cut-20").expect("bar-cut-20 of the JPEG");
                let d = distance(&want.pdq.hash, q);
                let at = if top { "top" } else { "bottom" };
                eprintln!(
                    "seed {seed}, {pct} % {at}: bar-cut-20 of the JPEG {d} bits from the cut"
                );
                worst = worst.max(d);
                assert!(
                    variant(&query_variants(&cap, &ExpandOptions::none()), "bar-cut-20").is_none()
                );
            }
            // Deeper than the cut: not this query.
            let mut deep = orig.clone();
            deep.data[(h - h * 25 / 100) * w * 3..].fill(0);
            assert!(edge_bar(&deep, 24, 0.02).is_some());
            let vs = query_variants(&deep, &ExpandOptions::default());
            assert!(variant(&vs, "bar-cut-20").is_none());
            // A side bar: not this query either.
            let mut side = orig.clone();
            for y in 0..h {
                side.data[(y * w + w - 40) * 3..(y + 1) * w * 3].fill(0);
            }
            let vs = query_variants(&side, &ExpandOptions::default());
            assert!(variant(&vs, "bar-filled").is_some());
            assert!(variant(&vs, "bar-cut-20").is_none());
        }
        assert!(
            worst <= 8,
            "bar-cut-20 up to {worst} bits from the listed cut"
        );
    }

    #[test]
    fn uncrop_is_closer_to_the_original_than_the_cropped_picture() {
        let (mut closer, mut matched) = (0, 0);
        for seed in 11..=16 {
            let orig = smooth(400, 320, seed);
            let want = pdq_of(&orig);
            // 3.5 % cut off each side.
            let (dx, dy) = (14, 11);
            let (cw, ch) = (400 - 2 * dx, 320 - 2 * dy);
            let mut data = Vec::with_capacity(cw * ch * 3);
            for y in dy..dy + ch {
                data.extend_from_slice(&orig.data[(y * 400 + dx) * 3..(y * 400 + dx + cw) * 3]);
            }
            let crop = RgbImage {
                width: cw as u32,
                height: ch as u32,
                data,
            };
            let vs = query_variants(&crop, &ExpandOptions::default());
            assert!(variant(&vs, "bar-filled").is_none());
            let plain = distance(&want, &vs[0]);
            let un = distance(&want, variant(&vs, "uncrop-3.5").expect("uncrop-3.5"));
            eprintln!("seed {seed}: cropped {plain}, uncrop-3.5 {un}");
            closer += usize::from(un < plain);
            matched += usize::from(un <= 31);
        }
        assert!(closer >= 5, "uncrop closer in {closer} of 6");
        assert!(matched >= 4, "uncrop-3.5 matches {matched} of 6");
    }

    #[test]
    fn clear_cells_stop_one_filter_reach_before_the_bar() {
        // 640 rows, a 77-row bar; the box filters reach 5 rows.
        assert_eq!(
            estimate::clear_cells(640, 77, false),
            (0..56).collect::<Vec<_>>()
        );
        assert_eq!(
            estimate::clear_cells(640, 77, true),
            (8..64).collect::<Vec<_>>()
        );
    }

    #[test]
    fn estimator_on_every_cell_is_the_dct_up_to_the_prior() {
        let pos: Vec<f64> = (0..64).map(f64::from).collect();
        let p = estimate::estimator(&pos);
        for r in 0..16 {
            let k = (r + 1) as f64;
            let shrink = 1.0 / (1.0 + estimate::LAMBDA * (k / 16.0) * (k / 16.0));
            for j in 0..64 {
                let dct = (2.0f64 / 64.0).sqrt()
                    * (std::f64::consts::PI * k * (2 * j + 1) as f64 / 128.0).cos();
                assert!((p[r * 64 + j] - shrink * dct).abs() < 1e-9, "{r} {j}");
            }
        }
    }

    #[test]
    fn finds_a_bar_on_one_edge_only() {
        let base = smooth(200, 160, 5);
        let paint = |img: &mut RgbImage, x0: usize, x1: usize, y0: usize, y1: usize| {
            for y in y0..y1 {
                for x in x0..x1 {
                    let o = (y * 200 + x) * 3;
                    img.data[o..o + 3].copy_from_slice(&[250, 250, 250]);
                }
            }
        };
        assert_eq!(edge_bar(&base, 24, 0.02), None);
        let mut right = base.clone();
        paint(&mut right, 170, 200, 0, 160);
        assert_eq!(
            edge_bar(&right, 24, 0.02),
            Some(Bar {
                edge: Edge::Right,
                lines: 30
            })
        );
        // A letterbox (two sides) is the trimmer's case; a 2 % line is no caption;
        // a bar over half the picture is not one either.
        let mut letterbox = base.clone();
        paint(&mut letterbox, 0, 200, 0, 20);
        paint(&mut letterbox, 0, 200, 140, 160);
        assert_eq!(edge_bar(&letterbox, 24, 0.02), None);
        let mut thin = base.clone();
        paint(&mut thin, 0, 200, 0, 3);
        assert_eq!(edge_bar(&thin, 24, 0.02), None);
        let mut half = base.clone();
        paint(&mut half, 0, 200, 0, 80);
        assert_eq!(edge_bar(&half, 24, 0.02), None);
    }

    #[test]
    fn no_expansion_searches_the_picture_only() {
        let img = smooth(120, 90, 2);
        let vs = query_variants(&img, &ExpandOptions::none());
        assert_eq!(vs.len(), 1);
        assert_eq!(vs[0].variant, "original");
        assert_eq!(vs[0].hash, pdq_of(&img).0);
        let all = query_variants(&img, &ExpandOptions::default());
        let names: Vec<&str> = all.iter().map(|q| q.variant.as_str()).collect();
        assert_eq!(names[..8], DIHEDRAL_NAMES);
        assert_eq!(names[8..], ["uncrop-2", "uncrop-3.5", "uncrop-5"]);
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
