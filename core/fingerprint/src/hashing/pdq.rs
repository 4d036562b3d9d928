//! PDQ perceptual hash, written from the published algorithm and checked bit for bit
//! against Meta's reference core (`../shared/conformance`).
//!
//! Pipeline (as in the reference): RGB → float luma (0.299 R + 0.587 G + 0.114 B),
//! two passes of a Jarosz box filter (rows, then columns), decimation to 64×64,
//! a 16×16 DCT (frequencies 1..=16 of a 64-point DCT-II), and a threshold at the
//! median of the 256 coefficients. Quality comes from the gradient sum of the
//! 64×64 image.
//!
//! The reference holds two full-size float buffers. This implementation streams:
//! rows go in one at a time, each box filter keeps only a ring of `window` rows, and
//! the last column pass runs only on the 64 columns that decimation samples. Every
//! output value is produced by the *same sequence* of f32 additions, subtractions
//! and divisions as in the reference, so the result is bit-identical while memory is
//! O(width × window) instead of O(width × height). See `docs/adr/0002-pdq-streaming.md`.

use std::fmt;
use std::str::FromStr;

/// Hashes whose Hamming distance is at most this are a match (Meta's threshold).
/// The rule's one home is [`takedown_protocol::PDQ_MATCH_DISTANCE`].
pub const MATCH_DISTANCE: u32 = takedown_protocol::PDQ_MATCH_DISTANCE;
/// PDQ hashes with a quality below this are unreliable and should not be matched.
/// The rule's one home is [`takedown_protocol::PDQ_MIN_QUALITY`].
pub const MIN_QUALITY: u8 = takedown_protocol::PDQ_MIN_QUALITY;
/// Images with fewer rows or columns than this hash to zero with quality 0.
pub const MIN_DIMENSION: usize = 5;

const LUMA_R: f32 = 0.299;
const LUMA_G: f32 = 0.587;
const LUMA_B: f32 = 0.114;

/// A 256-bit PDQ hash. Stored big-endian: `to_hex()` gives the 64 lowercase hex
/// digits used by every PDQ tool, and bit `k` (0 = least significant) is the
/// threshold of DCT coefficient (row `k / 16`, column `k % 16`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash(pub [u8; 32]);

/// Error parsing a PDQ hash from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePdqError {
    /// The text is not 64 characters long.
    #[error("a PDQ hash is 64 hex digits, got {0} characters")]
    Length(usize),
    /// The text holds a character that is not a hex digit.
    #[error("a PDQ hash may contain only hex digits")]
    NotHex,
}

impl PdqHash {
    /// The all-zero hash (what degenerate images hash to).
    pub const ZERO: PdqHash = PdqHash([0; 32]);

    /// Hamming distance: the number of bits that differ.
    pub fn distance(&self, other: &PdqHash) -> u32 {
        let a = self.words();
        let b = other.words();
        (0..4).map(|i| (a[i] ^ b[i]).count_ones()).sum()
    }

    /// The hash as four big-endian 64-bit words (word 0 is the most significant).
    pub fn words(&self) -> [u64; 4] {
        let mut w = [0u64; 4];
        for (i, chunk) in self.0.chunks_exact(8).enumerate() {
            w[i] = u64::from_be_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        w
    }

    /// Bit `k` (0 = least significant).
    pub fn bit(&self, k: usize) -> bool {
        self.0[31 - k / 8] >> (k % 8) & 1 == 1
    }

    fn set_bit(&mut self, k: usize) {
        self.0[31 - k / 8] |= 1 << (k % 8);
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, ParsePdqError> {
        if s.len() != 64 {
            return Err(ParsePdqError::Length(s.len()));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| ParsePdqError::NotHex)?;
        Ok(PdqHash(out))
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl FromStr for PdqHash {
    type Err = ParsePdqError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PdqHash::from_hex(s)
    }
}

/// A PDQ hash with its quality (0–100).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pdq {
    /// The 256-bit hash.
    pub hash: PdqHash,
    /// Quality 0–100; below [`MIN_QUALITY`] the hash should not be used for matching.
    pub quality: u8,
}

impl Pdq {
    /// Whether two hashes match under Meta's rule: distance ≤ 31 and both qualities ≥ 50.
    pub fn matches(&self, other: &Pdq) -> bool {
        self.quality >= MIN_QUALITY
            && other.quality >= MIN_QUALITY
            && self.hash.distance(&other.hash) <= MATCH_DISTANCE
    }
}

/// The eight dihedral variants of a PDQ hash, derived from the DCT as the reference
/// does (no re-hashing of rotated pixels). Names follow the reference's C++ API.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Dihedrals {
    /// The hash of the image as given.
    pub original: PdqHash,
    /// Rotated 90°.
    pub rotate90: PdqHash,
    /// Rotated 180°.
    pub rotate180: PdqHash,
    /// Rotated 270°.
    pub rotate270: PdqHash,
    /// Mirrored (reference name `flipX`).
    pub flipx: PdqHash,
    /// Mirrored (reference name `flipY`).
    pub flipy: PdqHash,
    /// Transposed about the main diagonal (reference name `flipPlus1`).
    pub flipplus1: PdqHash,
    /// Transposed about the anti-diagonal (reference name `flipMinus1`).
    pub flipminus1: PdqHash,
}

impl Dihedrals {
    /// All eight, in the order: original, rotate90, rotate180, rotate270, flipx, flipy,
    /// flipplus1, flipminus1.
    pub fn all(&self) -> [PdqHash; 8] {
        [
            self.original,
            self.rotate90,
            self.rotate180,
            self.rotate270,
            self.flipx,
            self.flipy,
            self.flipplus1,
            self.flipminus1,
        ]
    }
}

/// The finished PDQ computation: hash, quality, and the DCT coefficients from which
/// the dihedral hashes are derived.
#[derive(Clone)]
pub struct PdqDigest {
    /// The hash and quality.
    pub pdq: Pdq,
    dct: [[f32; 16]; 16],
}

impl PdqDigest {
    /// The 16×16 DCT coefficients the hash thresholds (row = vertical frequency).
    pub fn dct(&self) -> &[[f32; 16]; 16] {
        &self.dct
    }

    /// The eight dihedral hashes, derived from the DCT like the reference.
    pub fn dihedrals(&self) -> Dihedrals {
        if self.pdq.quality == 0 && self.pdq.hash == PdqHash::ZERO && self.dct == [[0.0; 16]; 16] {
            return Dihedrals {
                original: PdqHash::ZERO,
                rotate90: PdqHash::ZERO,
                rotate180: PdqHash::ZERO,
                rotate270: PdqHash::ZERO,
                flipx: PdqHash::ZERO,
                flipy: PdqHash::ZERO,
                flipplus1: PdqHash::ZERO,
                flipminus1: PdqHash::ZERO,
            };
        }
        let d = &self.dct;
        let t = |transpose: bool, neg_rows: bool, neg_cols: bool| {
            hash_from_dct(&transform_dct(d, transpose, neg_rows, neg_cols))
        };
        Dihedrals {
            original: self.pdq.hash,
            rotate90: t(true, false, true),
            rotate180: t(false, true, true),
            rotate270: t(true, true, false),
            flipx: t(false, true, false),
            flipy: t(false, false, true),
            flipplus1: t(true, false, false),
            flipminus1: t(true, true, true),
        }
    }
}

impl PdqDigest {
    /// The digest of the picture as shown under EXIF orientation `code` (1–8), derived
    /// from this digest of the picture as stored: the DCT is transposed and its odd
    /// frequencies negated as the rotation or mirror requires, then thresholded again.
    /// This lets a JPEG be hashed row by row as stored. It differs from hashing rotated
    /// pixels only by where the 64 samples fall (at most one pixel on the full-size
    /// image, after the box filter); see `core/tests/photo_conformance.rs`. Codes
    /// outside 2–8 return the digest unchanged.
    pub fn oriented(&self, code: u8) -> PdqDigest {
        // (transpose, reverse the stored vertical axis, reverse the stored horizontal axis)
        let (transpose, rows, cols) = match code {
            2 => (false, false, true),
            3 => (false, true, true),
            4 => (false, true, false),
            5 => (true, false, false),
            6 => (true, true, false),
            7 => (true, true, true),
            8 => (true, false, true),
            _ => return self.clone(),
        };
        if self.pdq.quality == 0 && self.pdq.hash == PdqHash::ZERO && self.dct == [[0.0; 16]; 16] {
            return self.clone();
        }
        let dct = transform_dct(&self.dct, transpose, rows, cols);
        PdqDigest {
            pdq: Pdq {
                hash: hash_from_dct(&dct),
                quality: self.pdq.quality,
            },
            dct,
        }
    }
}

/// The DCT of a transposed and/or mirrored picture. A coefficient of frequency (i+1)
/// changes sign under a mirror of its axis when i+1 is odd, i.e. when i is even; a
/// transpose swaps the axes (row index = vertical frequency).
fn transform_dct(
    d: &[[f32; 16]; 16],
    transpose: bool,
    neg_rows: bool,
    neg_cols: bool,
) -> [[f32; 16]; 16] {
    let mut out = [[0f32; 16]; 16];
    for (i, row) in d.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let neg = (neg_rows && i % 2 == 0) ^ (neg_cols && j % 2 == 0);
            let v = if neg { -v } else { v };
            if transpose {
                out[j][i] = v;
            } else {
                out[i][j] = v;
            }
        }
    }
    out
}

/// Jarosz box-filter window for reducing `old` samples towards `new` (the reference's
/// `computeJaroszFilterWindowSize`).
fn jarosz_window(old: usize, new: usize) -> usize {
    old.div_ceil(2 * new)
}

/// Geometry of one 1-D box filter of `n` samples with a full window `full`, in the
/// reference's four phases. `half = (full + 2) / 2`.
#[derive(Clone, Copy, Debug)]
struct Box1d {
    n: usize,
    full: usize,
    half: usize,
}

impl Box1d {
    fn new(n: usize, full: usize) -> Self {
        debug_assert!(full >= 1 && full <= n);
        Box1d {
            n,
            full,
            half: (full + 2) / 2,
        }
    }

    /// The window count the reference divides by for output `o`.
    #[inline]
    fn count(&self, o: usize) -> usize {
        let Box1d { n, full, half } = *self;
        if o < full - half + 1 {
            half + o
        } else if o < n - half + 1 {
            full
        } else {
            full - 1 - (o - (n - half + 1))
        }
    }

    /// Running sums of the filter along a contiguous slice, written to `sums[o]` for
    /// each output `o`; the filtered value is `sums[o] / count(o)`.
    /// Exactly the reference's f32 operation order.
    #[inline]
    fn run_sums(&self, input: &[f32], sums: &mut [f32]) {
        let Box1d { n, full, half } = *self;
        let input = &input[..n];
        let sums = &mut sums[..n];
        let mut sum = 0f32;
        for &x in &input[..half - 1] {
            sum += x;
        }
        let mut o = 0;
        for &x in &input[half - 1..full] {
            sum += x;
            sums[o] = sum;
            o += 1;
        }
        for (r, l) in (full..n).zip(0..) {
            sum += input[r];
            sum -= input[l];
            sums[o] = sum;
            o += 1;
        }
        for &x in &input[n - full..n - full + half - 1] {
            sum -= x;
            sums[o] = sum;
            o += 1;
        }
        debug_assert_eq!(o, n);
    }

    /// [`Box1d::run_sums`] on `K` rows at once (`input` and `sums` hold `K` rows of
    /// `n`), interleaving the independent per-row chains. Same per-row operation order.
    #[inline]
    fn run_sums_lanes<const K: usize>(&self, input: &[f32], sums: &mut [f32]) {
        let Box1d { n, full, half } = *self;
        let input = &input[..K * n];
        let sums = &mut sums[..K * n];
        let mut s = [0f32; K];
        for i in 0..half - 1 {
            for k in 0..K {
                s[k] += input[k * n + i];
            }
        }
        let mut o = 0;
        for i in half - 1..full {
            for k in 0..K {
                s[k] += input[k * n + i];
                sums[k * n + o] = s[k];
            }
            o += 1;
        }
        for r in full..n {
            let l = r - full;
            for k in 0..K {
                s[k] += input[k * n + r];
                s[k] -= input[k * n + l];
                sums[k * n + o] = s[k];
            }
            o += 1;
        }
        for l in n - full..n - full + half - 1 {
            for k in 0..K {
                s[k] -= input[k * n + l];
                sums[k * n + o] = s[k];
            }
            o += 1;
        }
    }

    /// Running sums of `rows` consecutive rows of `n` (at most [`LANES`]): a full group
    /// goes through [`Box1d::run_sums_lanes`], a partial one row by row.
    fn run_sums_rows(&self, input: &[f32], sums: &mut [f32], rows: usize) {
        let n = self.n;
        if rows == LANES {
            self.run_sums_lanes::<LANES>(input, sums);
        } else {
            for (i, o) in input
                .chunks_exact(n)
                .zip(sums.chunks_exact_mut(n))
                .take(rows)
            {
                self.run_sums(i, o);
            }
        }
    }

    /// Full filter along a contiguous slice: `out[o] = sums[o] / count(o)`.
    #[cfg(test)]
    fn run(&self, input: &[f32], out: &mut [f32]) {
        self.run_sums(input, out);
        self.divide(out);
    }

    /// Divide running sums by the window count, in place.
    fn divide(&self, sums: &mut [f32]) {
        let Box1d { n, full, half } = *self;
        let a = full - half + 1;
        let b = n - half + 1;
        for (o, s) in sums[..a].iter_mut().enumerate() {
            *s /= (half + o) as f32;
        }
        let f = full as f32;
        for s in &mut sums[a..b] {
            *s /= f;
        }
        for (t, s) in sums[b..n].iter_mut().enumerate() {
            *s /= (full - 1 - t) as f32;
        }
    }
}

/// A box filter down the columns, fed one row at a time. Keeps a per-column running
/// sum and a ring of the last `full` input rows, and emits each output row as soon as
/// it is final. The sequence of f32 operations per column is the reference's.
struct ColumnBox {
    geom: Box1d,
    width: usize,
    sums: Vec<f32>,
    ring: Vec<f32>,
    rows_in: usize,
    out: Vec<f32>,
}

impl ColumnBox {
    fn new(height: usize, width: usize, full: usize) -> Self {
        ColumnBox {
            geom: Box1d::new(height, full),
            width,
            sums: vec![0.0; width],
            ring: vec![0.0; width * full],
            rows_in: 0,
            out: vec![0.0; width],
        }
    }

    /// Feed input row `rows_in`; calls `emit(o, row)` for every output row `o` that
    /// becomes final (phase 4 rows are emitted by [`ColumnBox::finish`]).
    #[inline]
    fn push(&mut self, row: &[f32], mut emit: impl FnMut(usize, &[f32])) {
        let Box1d { full, half, .. } = self.geom;
        let r = self.rows_in;
        let w = self.width;
        let row = &row[..w];
        let slot = &mut self.ring[(r % full) * w..(r % full + 1) * w];
        if r < half - 1 {
            for (s, &x) in self.sums.iter_mut().zip(row) {
                *s += x;
            }
        } else if r < full {
            let c = (r + 1) as f32;
            for ((s, &x), o) in self.sums.iter_mut().zip(row).zip(self.out.iter_mut()) {
                *s += x;
                *o = *s / c;
            }
        } else {
            let c = full as f32;
            for (((s, &x), old), o) in self
                .sums
                .iter_mut()
                .zip(row)
                .zip(slot.iter())
                .zip(self.out.iter_mut())
            {
                *s += x;
                *s -= *old;
                *o = *s / c;
            }
        }
        slot.copy_from_slice(row);
        self.rows_in += 1;
        if r >= half - 1 {
            emit(r + 1 - half, &self.out);
        }
    }

    /// Emit the final `half - 1` output rows once every input row has been pushed.
    fn finish(&mut self, mut emit: impl FnMut(usize, &[f32])) {
        let Box1d { n, full, half } = self.geom;
        debug_assert_eq!(self.rows_in, n);
        let w = self.width;
        for t in 0..half - 1 {
            let li = n - full + t;
            let old = &self.ring[(li % full) * w..(li % full + 1) * w];
            let c = (full - 1 - t) as f32;
            for ((s, &x), o) in self.sums.iter_mut().zip(old).zip(self.out.iter_mut()) {
                *s -= x;
                *o = *s / c;
            }
            emit(n - half + 1 + t, &self.out);
        }
    }
}

/// Streaming PDQ hasher: push the image's rows top to bottom, then [`PdqHasher::finish`].
///
/// Memory is about `width × (column window + 4)` floats, independent of the height.
pub struct PdqHasher {
    width: usize,
    height: usize,
    rows_pushed: usize,
    inner: Option<Pipeline>,
}

/// Rows are filtered along their length in groups of this many: the running sums of
/// different rows are independent chains, so interleaving them lets the CPU overlap
/// the additions (each chain is still evaluated in the reference's order).
const LANES: usize = 4;

struct Pipeline {
    stage1: Stage1,
    stage2: Stage2,
    rgb_luma: Vec<f32>,
    /// 64×64 input: the reference skips filtering and uses the pixels as they are.
    direct: bool,
    rows_in: usize,
}

/// First pass: row filter (in groups of [`LANES`] rows), then the column filter.
struct Stage1 {
    row_box: Box1d,
    pending: Vec<f32>,
    count: usize,
    out: Vec<f32>,
    cols: ColumnBox,
}

/// Second pass: row filter (sums only; divisions only where sampled), then the column
/// filter on the 64 sampled columns, then decimation into the 64×64 grid.
struct Stage2 {
    row_box: Box1d,
    pending: Vec<f32>,
    count: usize,
    sums: Vec<f32>,
    cols: ColumnBox,
    /// Columns the decimation samples (`inj` in the reference), one per output column.
    sample_cols: [usize; 64],
    /// (input row, output row) pairs of the decimation, sorted by input row.
    sample_rows: Vec<(usize, usize)>,
    sampled: [f32; 64],
    grid: Box<[[f32; 64]; 64]>,
}

impl Stage1 {
    fn push(&mut self, luma: &[f32], next: &mut Stage2) {
        let w = self.row_box.n;
        self.pending[self.count * w..(self.count + 1) * w].copy_from_slice(&luma[..w]);
        self.count += 1;
        if self.count == LANES {
            self.flush(next);
        }
    }

    fn flush(&mut self, next: &mut Stage2) {
        let w = self.row_box.n;
        self.row_box
            .run_sums_rows(&self.pending, &mut self.out, self.count);
        for k in 0..self.count {
            let row = &mut self.out[k * w..(k + 1) * w];
            self.row_box.divide(row);
            self.cols.push(row, |_, r| next.push(r));
        }
        self.count = 0;
    }

    fn finish(&mut self, next: &mut Stage2) {
        self.flush(next);
        self.cols.finish(|_, r| next.push(r));
    }
}

impl Stage2 {
    fn push(&mut self, row: &[f32]) {
        let w = self.row_box.n;
        self.pending[self.count * w..(self.count + 1) * w].copy_from_slice(&row[..w]);
        self.count += 1;
        if self.count == LANES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let w = self.row_box.n;
        self.row_box
            .run_sums_rows(&self.pending, &mut self.sums, self.count);
        for k in 0..self.count {
            let sums = &self.sums[k * w..(k + 1) * w];
            for (s, &c) in self.sampled.iter_mut().zip(&self.sample_cols) {
                *s = sums[c] / self.row_box.count(c) as f32;
            }
            let (rows, grid) = (&self.sample_rows, &mut self.grid);
            self.cols
                .push(&self.sampled, |o, out| store_sampled(rows, grid, o, out));
        }
        self.count = 0;
    }

    fn finish(&mut self) {
        self.flush();
        let (rows, grid) = (&self.sample_rows, &mut self.grid);
        self.cols.finish(|o, out| store_sampled(rows, grid, o, out));
    }
}

impl Pipeline {
    fn new(width: usize, height: usize) -> Self {
        let wr = jarosz_window(width, 64);
        let wc = jarosz_window(height, 64);
        let mut sample_cols = [0usize; 64];
        for (j, c) in sample_cols.iter_mut().enumerate() {
            *c = (((j as f64 + 0.5) * width as f64) / 64.0) as usize;
        }
        let mut sample_rows = Vec::with_capacity(64);
        for i in 0..64 {
            let r = (((i as f64 + 0.5) * height as f64) / 64.0) as usize;
            sample_rows.push((r, i));
        }
        let row_box = Box1d::new(width, wr);
        Pipeline {
            stage1: Stage1 {
                row_box,
                pending: vec![0.0; width * LANES],
                count: 0,
                out: vec![0.0; width * LANES],
                cols: ColumnBox::new(height, width, wc),
            },
            stage2: Stage2 {
                row_box,
                pending: vec![0.0; width * LANES],
                count: 0,
                sums: vec![0.0; width * LANES],
                cols: ColumnBox::new(height, 64, wc),
                sample_cols,
                sample_rows,
                sampled: [0.0; 64],
                grid: Box::new([[0.0; 64]; 64]),
            },
            rgb_luma: Vec::with_capacity(width),
            direct: width == 64 && height == 64,
            rows_in: 0,
        }
    }

    fn push_luma(&mut self, luma: &[f32]) {
        if self.direct {
            self.stage2.grid[self.rows_in].copy_from_slice(&luma[..64]);
            self.rows_in += 1;
            return;
        }
        self.stage1.push(luma, &mut self.stage2);
    }

    fn finish(mut self) -> Box<[[f32; 64]; 64]> {
        if !self.direct {
            self.stage1.finish(&mut self.stage2);
            self.stage2.finish();
        }
        self.stage2.grid
    }
}

#[inline]
fn store_sampled(
    sample_rows: &[(usize, usize)],
    grid: &mut [[f32; 64]; 64],
    o: usize,
    row: &[f32],
) {
    // sample_rows is sorted by input row; several output rows may sample the same one.
    let start = sample_rows.partition_point(|&(r, _)| r < o);
    for &(r, i) in &sample_rows[start..] {
        if r != o {
            break;
        }
        grid[i].copy_from_slice(&row[..64]);
    }
}

impl PdqHasher {
    /// A hasher for an image of `width` × `height` pixels.
    pub fn new(width: usize, height: usize) -> Self {
        let degenerate = width < MIN_DIMENSION || height < MIN_DIMENSION;
        PdqHasher {
            width,
            height,
            rows_pushed: 0,
            inner: (!degenerate).then(|| Pipeline::new(width, height)),
        }
    }

    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Push the next row as float luma (`width` values).
    ///
    /// # Panics
    /// If the row is shorter than `width` or more than `height` rows are pushed.
    pub fn push_luma_row(&mut self, luma: &[f32]) {
        assert!(
            luma.len() >= self.width,
            "luma row shorter than the image width"
        );
        assert!(
            self.rows_pushed < self.height,
            "more rows than the image height"
        );
        self.rows_pushed += 1;
        if let Some(p) = &mut self.inner {
            p.push_luma(luma);
        }
    }

    /// Push the next row as packed pixels with `channels` bytes each, of which the
    /// first three are R, G, B (RGB24: 3, RGBA: 4). Extra channels are ignored.
    ///
    /// # Panics
    /// If the row is shorter than `width × channels`, `channels < 3`, or more than
    /// `height` rows are pushed.
    pub fn push_rgb_row(&mut self, row: &[u8], channels: usize) {
        assert!(channels >= 3, "need at least 3 channels");
        assert!(
            row.len() >= self.width * channels,
            "pixel row shorter than the image width"
        );
        assert!(
            self.rows_pushed < self.height,
            "more rows than the image height"
        );
        self.rows_pushed += 1;
        let Some(p) = &mut self.inner else {
            return;
        };
        let mut luma = std::mem::take(&mut p.rgb_luma);
        rgb_to_luma(&row[..self.width * channels], channels, &mut luma);
        p.push_luma(&luma);
        p.rgb_luma = luma;
    }

    /// Finish after all `height` rows: hash, quality and DCT.
    ///
    /// # Panics
    /// If fewer than `height` rows were pushed.
    pub fn finish(self) -> PdqDigest {
        assert_eq!(self.rows_pushed, self.height, "not every row was pushed");
        match self.inner {
            None => PdqDigest {
                pdq: Pdq {
                    hash: PdqHash::ZERO,
                    quality: 0,
                },
                dct: [[0.0; 16]; 16],
            },
            Some(p) => digest_from_grid(&p.finish()),
        }
    }
}

/// The float luma PDQ hashes of one row of packed pixels (`channels` bytes per
/// pixel, R, G, B first), into `out` (cleared first): what
/// [`PdqHasher::push_rgb_row`] computes before [`PdqHasher::push_luma_row`], so
/// one conversion can feed several hashers of the same row, bit-exactly.
pub fn rgb_row_to_luma(row: &[u8], channels: usize, out: &mut Vec<f32>) {
    rgb_to_luma(row, channels, out);
}

fn rgb_to_luma(row: &[u8], channels: usize, out: &mut Vec<f32>) {
    out.clear();
    out.extend(
        row.chunks_exact(channels)
            .map(|px| LUMA_R * px[0] as f32 + LUMA_G * px[1] as f32 + LUMA_B * px[2] as f32),
    );
}

/// PDQ of a packed pixel buffer (`channels` bytes per pixel, R, G, B first; rows of
/// `stride` bytes). Bit-exact with the reference fed the same RGB.
///
/// # Panics
/// If the buffer is shorter than `stride × height` or `stride < width × channels`.
pub fn pdq_from_pixels(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    stride: usize,
) -> PdqDigest {
    assert!(stride >= width * channels);
    assert!(pixels.len() >= stride * height.saturating_sub(1) + width * channels || height == 0);
    let mut h = PdqHasher::new(width, height);
    if h.inner.is_none() {
        h.rows_pushed = height;
        return h.finish();
    }
    for y in 0..height {
        h.push_rgb_row(&pixels[y * stride..y * stride + width * channels], channels);
    }
    h.finish()
}

/// PDQ of tightly packed RGB24 pixels.
pub fn pdq_from_rgb(rgb: &[u8], width: usize, height: usize) -> PdqDigest {
    pdq_from_pixels(rgb, width, height, 3, width * 3)
}

/// PDQ of a row-major float luma buffer (`width × height` values).
pub fn pdq_from_luma(luma: &[f32], width: usize, height: usize) -> PdqDigest {
    let mut h = PdqHasher::new(width, height);
    if h.inner.is_none() {
        h.rows_pushed = height;
        return h.finish();
    }
    for y in 0..height {
        h.push_luma_row(&luma[y * width..(y + 1) * width]);
    }
    h.finish()
}

/// The 64×64 luminance buffer that PDQ takes its DCT of, for tightly packed RGB24
/// pixels: the luma after the two box-filter passes, decimated to 64×64 (`grid[row]
/// [column]`), exactly the buffer [`pdq_from_rgb`] hashes. `None` for a picture under
/// [`MIN_DIMENSION`] on a side (it hashes to zero). For callers that estimate the DCT
/// of a picture of which part is hidden (a caption bar) or missing (a crop).
///
/// # Panics
/// If `rgb` holds fewer than `width × height × 3` bytes.
pub fn pdq_grid_from_rgb(rgb: &[u8], width: usize, height: usize) -> Option<Box<[[f32; 64]; 64]>> {
    assert!(rgb.len() >= width * height * 3);
    if width < MIN_DIMENSION || height < MIN_DIMENSION {
        return None;
    }
    let mut h = PdqHasher::new(width, height);
    for y in 0..height {
        h.push_rgb_row(&rgb[y * width * 3..(y + 1) * width * 3], 3);
    }
    h.inner.map(Pipeline::finish)
}

/// PDQ (hash, quality, DCT) of a 64×64 buffer from [`pdq_grid_from_rgb`]: what
/// [`pdq_from_rgb`] returns for the same pixels, so a caller that needs the buffer
/// does not run the box filters twice.
pub fn pdq_from_grid(grid: &[[f32; 64]; 64]) -> PdqDigest {
    digest_from_grid(grid)
}

/// The 16×64 DCT matrix: `sqrt(2/64) · cos(π/128 · (i+1) · (2j+1))`. As in the
/// reference, the scale factor is rounded to f32 first, the product is taken in
/// double precision, and the result is rounded to f32.
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static M: std::sync::OnceLock<[[f32; 64]; 16]> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut m = [[0f32; 64]; 16];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let angle = std::f64::consts::PI / 2.0 / 64.0 * (i + 1) as f64 * (2 * j + 1) as f64;
                *v = (scale as f64 * angle.cos()) as f32;
            }
        }
        m
    })
}

fn digest_from_grid(grid: &[[f32; 64]; 64]) -> PdqDigest {
    let quality = quality_of(grid);
    let d = dct_matrix();
    // T = D · A (16×64), accumulated in the reference's order (k ascending).
    let mut t = [[0f32; 64]; 16];
    for (i, trow) in t.iter_mut().enumerate() {
        for (k, arow) in grid.iter().enumerate() {
            let dik = d[i][k];
            for (tv, &a) in trow.iter_mut().zip(arow.iter()) {
                *tv += dik * a;
            }
        }
    }
    // B = T · Dᵀ (16×16).
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut s = 0f32;
            for k in 0..64 {
                s += t[i][k] * d[j][k];
            }
            b[i][j] = s;
        }
    }
    PdqDigest {
        pdq: Pdq {
            hash: hash_from_dct(&b),
            quality,
        },
        dct: b,
    }
}

/// The PDQ hash of 16×16 DCT coefficients (row = vertical frequency 1..=16): bit
/// `16 i + j` is set when coefficient `(i, j)` is above the lower median of the 256,
/// as the reference thresholds. [`PdqDigest::dct`] hashes back to its own hash.
pub fn hash_from_dct(b: &[[f32; 16]; 16]) -> PdqHash {
    let mut flat = [0f32; 256];
    for (i, row) in b.iter().enumerate() {
        flat[i * 16..i * 16 + 16].copy_from_slice(row);
    }
    // The reference's Torben median returns the lower median (128th smallest of 256).
    let mut sorted = flat;
    let (_, &mut median, _) = sorted.select_nth_unstable_by(127, |a, b| a.total_cmp(b));
    let mut h = PdqHash::ZERO;
    for (k, &v) in flat.iter().enumerate() {
        if v > median {
            h.set_bit(k);
        }
    }
    h
}

fn quality_of(a: &[[f32; 64]; 64]) -> u8 {
    let mut gradient_sum: i64 = 0;
    for (upper, lower) in a.iter().zip(a.iter().skip(1)) {
        for (&u, &v) in upper.iter().zip(lower) {
            let d = ((u - v) * 100.0 / 255.0) as i32;
            gradient_sum += d.unsigned_abs() as i64;
        }
    }
    for row in a.iter() {
        for j in 0..63 {
            let d = ((row[j] - row[j + 1]) * 100.0 / 255.0) as i32;
            gradient_sum += d.unsigned_abs() as i64;
        }
    }
    (gradient_sum / 90).min(100) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's two-buffer algorithm, written plainly, to check the streaming
    /// pipeline against on arbitrary sizes.
    fn reference_grid(luma: &[f32], w: usize, h: usize) -> [[f32; 64]; 64] {
        let wr = jarosz_window(w, 64);
        let wc = jarosz_window(h, 64);
        let mut a = luma.to_vec();
        let mut b = vec![0f32; w * h];
        let rb = Box1d::new(w, wr);
        let cb = Box1d::new(h, wc);
        for _ in 0..2 {
            for y in 0..h {
                rb.run(&a[y * w..(y + 1) * w], &mut b[y * w..(y + 1) * w]);
            }
            let mut col = vec![0f32; h];
            let mut out = vec![0f32; h];
            for x in 0..w {
                for y in 0..h {
                    col[y] = b[y * w + x];
                }
                cb.run(&col, &mut out);
                for y in 0..h {
                    a[y * w + x] = out[y];
                }
            }
        }
        let mut g = [[0f32; 64]; 64];
        for (i, row) in g.iter_mut().enumerate() {
            let ini = (((i as f64 + 0.5) * h as f64) / 64.0) as usize;
            for (j, v) in row.iter_mut().enumerate() {
                let inj = (((j as f64 + 0.5) * w as f64) / 64.0) as usize;
                *v = a[ini * w + inj];
            }
        }
        g
    }

    fn noise(w: usize, h: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..w * h)
            .map(|i| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                ((s >> 24) as f32) * 0.7 + (i % w) as f32 * 0.1
            })
            .collect()
    }

    #[test]
    fn streaming_equals_two_buffer_reference_bit_for_bit() {
        for &(w, h) in &[
            (5, 5),
            (7, 300),
            (300, 7),
            (63, 63),
            (64, 64),
            (129, 257),
            (1000, 3),
            (517, 389),
        ] {
            if w < MIN_DIMENSION || h < MIN_DIMENSION {
                continue;
            }
            let luma = noise(w, h, (w * 31 + h) as u32);
            let expected = if (w, h) == (64, 64) {
                let mut g = [[0f32; 64]; 64];
                for (y, row) in g.iter_mut().enumerate() {
                    row.copy_from_slice(&luma[y * 64..y * 64 + 64]);
                }
                digest_from_grid(&g)
            } else {
                digest_from_grid(&reference_grid(&luma, w, h))
            };
            let got = pdq_from_luma(&luma, w, h);
            assert_eq!(got.pdq, expected.pdq, "{w}x{h}");
            assert_eq!(got.dct, expected.dct, "{w}x{h}");
        }
    }

    #[test]
    fn exposed_grid_and_threshold_give_the_hash_and_dct_of_pdq_from_rgb() {
        for &(w, h) in &[(64, 64), (97, 211), (640, 480)] {
            let luma = noise(w, h * 3, (w + 7 * h) as u32);
            let rgb: Vec<u8> = luma.iter().map(|&v| v as u8).collect();
            let grid = pdq_grid_from_rgb(&rgb, w, h).expect("big enough");
            let got = pdq_from_grid(&grid);
            let want = pdq_from_rgb(&rgb, w, h);
            assert_eq!(got.pdq, want.pdq, "{w}x{h}");
            assert_eq!(got.dct, want.dct, "{w}x{h}");
            assert_eq!(hash_from_dct(want.dct()), want.pdq.hash, "{w}x{h}");
        }
        assert!(pdq_grid_from_rgb(&[0; 4 * 100 * 3], 4, 100).is_none());
    }

    #[test]
    fn box_counts_match_phase_walk() {
        for n in 5..200 {
            let b = Box1d::new(n, jarosz_window(n, 64).max(1));
            let total: usize = (0..n).map(|o| b.count(o)).sum();
            assert!(total > 0);
            assert_eq!(b.count(0), b.half);
            assert_eq!(b.count(n - 1), b.full + 1 - b.half);
        }
    }

    #[test]
    fn degenerate_images_hash_to_zero() {
        for (w, h) in [(0, 0), (1, 1), (4, 4), (4, 100), (100, 4)] {
            let d = pdq_from_rgb(&vec![128u8; w * h * 3], w, h);
            assert_eq!(d.pdq.hash, PdqHash::ZERO);
            assert_eq!(d.pdq.quality, 0);
            assert_eq!(d.dihedrals().rotate90, PdqHash::ZERO);
        }
    }

    #[test]
    fn hex_round_trip_and_distance() {
        let a =
            PdqHash::from_hex("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
                .unwrap();
        assert_eq!(
            a.to_hex(),
            "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
        );
        assert_eq!(a.distance(&a), 0);
        let mut b = a;
        b.0[0] ^= 0xff;
        assert_eq!(a.distance(&b), 8);
        assert!(a.bit(1) && !a.bit(0));
        assert!(PdqHash::from_hex("zz").is_err());
        assert_eq!(
            PdqHash::from_hex(&"g".repeat(64)).unwrap_err(),
            ParsePdqError::NotHex
        );
    }
}
