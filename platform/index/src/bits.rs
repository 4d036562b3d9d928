//! Hash words, substring geometry and the small bit helpers the search uses.

use crate::Hash;

/// A hash as four big-endian 64-bit words: word 0 holds bytes 0..8, so bit 0 of the
/// 256-bit number (the first hex digit's top bit) is the top bit of word 0.
pub(crate) type Words = [u64; 4];

/// Number of substring tables. Pigeonhole over 11 substrings: a hash within 31 bits of the
/// query is within 2 bits of it on at least one substring (11 × 3 = 33 > 31). ADR 0400 says
/// why 11 and not the 16 × 16-bit layout FAISS and HMA use.
pub(crate) const TABLES: usize = 11;

/// Width in bits of each substring: 3 × 24 + 8 × 23 = 256.
pub(crate) const WIDTHS: [u32; TABLES] = [24, 24, 24, 23, 23, 23, 23, 23, 23, 23, 23];

/// First bit of each substring.
pub(crate) const OFFSETS: [u32; TABLES] = offsets();

const fn offsets() -> [u32; TABLES] {
    let mut out = [0u32; TABLES];
    let mut i = 1;
    while i < TABLES {
        out[i] = out[i - 1] + WIDTHS[i - 1];
        i += 1;
    }
    out
}

/// Largest directory (top-of-substring) width: 2^18 offsets per table, 11.5 MB in all.
pub(crate) const MAX_DIR_BITS: u32 = 18;
/// Smallest directory width.
pub(crate) const MIN_DIR_BITS: u32 = 4;
/// Bits of the substring kept per posting, below the directory bits, to filter candidates
/// before touching the full hash.
pub(crate) const MAX_REM_BITS: u32 = 8;

/// Converts the byte form to words.
#[inline]
pub(crate) fn to_words(h: &Hash) -> Words {
    let mut w = [0u64; 4];
    for (i, chunk) in h.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        w[i] = u64::from_be_bytes(b);
    }
    w
}

/// Converts words back to the byte form.
#[inline]
pub(crate) fn to_bytes(w: &Words) -> Hash {
    let mut h = [0u8; 32];
    for (i, chunk) in h.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&w[i].to_be_bytes());
    }
    h
}

/// Hamming distance of two hashes.
#[inline(always)]
pub(crate) fn distance(a: &Words, b: &Words) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// Substring `t` of `w` as an integer of `WIDTHS[t]` bits.
#[inline(always)]
pub(crate) fn key(w: &Words, t: usize) -> u32 {
    let off = OFFSETS[t];
    let s = WIDTHS[t];
    let wi = (off / 64) as usize;
    let bit = off % 64;
    let hi = u128::from(w[wi]);
    let lo = if wi + 1 < 4 { u128::from(w[wi + 1]) } else { 0 };
    let v = (hi << 64) | lo;
    ((v >> (128 - bit - s)) & ((1u128 << s) - 1)) as u32
}

/// Bits kept per posting for table `t` when the directory has `d` bits.
#[inline(always)]
pub(crate) fn rem_bits(t: usize, d: u32) -> u32 {
    MAX_REM_BITS.min(WIDTHS[t] - d)
}

/// Splits substring `k` of table `t` into (directory bucket, posting remainder).
#[inline(always)]
pub(crate) fn split(k: u32, t: usize, d: u32) -> (u32, u8) {
    let s = WIDTHS[t];
    let rb = rem_bits(t, d);
    let dir = k >> (s - d);
    let rem = (k >> (s - d - rb)) & ((1u32 << rb) - 1);
    (dir, rem as u8)
}

/// Per-table probe radii for a query radius: table `t` is searched within `radii[t]` bits
/// (negative: not searched). Chosen so that `Σ (radii[t] + 1) = radius + 1`, which makes
/// the search exact: a hash farther than `radii[t]` on every probed table is farther than
/// `radius` in total.
pub(crate) fn radii(radius: u32) -> [i32; TABLES] {
    let total = radius.min(256) as usize + 1;
    let base = total / TABLES;
    let extra = total % TABLES;
    let mut out = [0i32; TABLES];
    for (t, r) in out.iter_mut().enumerate() {
        *r = (base + usize::from(t < extra)) as i32 - 1;
    }
    out
}

/// Calls `f` with every `d`-bit mask that has exactly `k` bits set (Gosper's hack).
#[inline(always)]
pub(crate) fn for_each_mask(d: u32, k: u32, mut f: impl FnMut(u32)) {
    if k == 0 {
        f(0);
        return;
    }
    if k > d {
        return;
    }
    if k == 1 {
        for i in 0..d {
            f(1 << i);
        }
        return;
    }
    if k == 2 {
        for j in 1..d {
            for i in 0..j {
                f((1 << i) | (1 << j));
            }
        }
        return;
    }
    let limit = 1u64 << d;
    let mut m: u64 = (1u64 << k) - 1;
    while m < limit {
        f(m as u32);
        let c = m & m.wrapping_neg();
        let r = m + c;
        m = (((r ^ m) >> 2) / c) | r;
    }
}

/// Binomial coefficient, saturating.
pub(crate) fn choose(n: u32, k: u32) -> u64 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut acc: u64 = 1;
    for i in 0..k {
        acc = acc.saturating_mul(u64::from(n - i)) / u64::from(i + 1);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_cover_256_bits() {
        assert_eq!(WIDTHS.iter().sum::<u32>(), 256);
        assert_eq!(OFFSETS[TABLES - 1] + WIDTHS[TABLES - 1], 256);
    }

    #[test]
    fn keys_reassemble_the_hash() {
        let mut h = [0u8; 32];
        for (i, b) in h.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let w = to_words(&h);
        assert_eq!(to_bytes(&w), h);
        // Concatenating the substrings in order gives the bit string back.
        let mut bits = Vec::new();
        for (t, width) in WIDTHS.iter().enumerate() {
            let k = key(&w, t);
            for i in (0..*width).rev() {
                bits.push((k >> i) & 1);
            }
        }
        let mut expect = Vec::new();
        for b in h {
            for i in (0..8).rev() {
                expect.push(u32::from((b >> i) & 1));
            }
        }
        assert_eq!(bits, expect);
    }

    #[test]
    fn radii_sum_to_radius_plus_one() {
        for radius in 0..=256 {
            let r = radii(radius);
            let sum: i32 = r.iter().map(|x| x + 1).sum();
            assert_eq!(sum as u32, radius + 1);
        }
        assert_eq!(radii(31).iter().filter(|&&x| x == 2).count(), 10);
    }

    #[test]
    fn masks_enumerate_all_combinations() {
        for d in 0..=10u32 {
            for k in 0..=d + 1 {
                let mut seen = Vec::new();
                for_each_mask(d, k, |m| seen.push(m));
                let expect: Vec<u32> = (0..(1u32 << d)).filter(|m| m.count_ones() == k).collect();
                assert_eq!(seen, expect, "d={d} k={k}");
                assert_eq!(seen.len() as u64, choose(d, k));
            }
        }
    }
}
