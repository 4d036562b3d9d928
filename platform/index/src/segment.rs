//! An immutable, compact multi-index segment with a tombstone bitset.
//!
//! Rows (hash + id) are stored in the order of table 0's substring, so table 0 needs no
//! posting list of its own. Every other table holds, per row, a row number (3 bytes while
//! the segment has fewer than 2^24 rows, else 4) and an 8-bit slice of its substring that
//! filters candidates before the full hash is read. A table's postings are grouped by the
//! top `dir_bits` bits of its substring through a CSR offset array, and sorted by the
//! remainder inside each group.

use crate::Match;
use crate::bits::{
    MAX_DIR_BITS, MIN_DIR_BITS, TABLES, Words, choose, distance, for_each_mask, key, rem_bits,
    split,
};

/// One substring table.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    /// `offsets[b]..offsets[b + 1]` is the posting range of directory bucket `b`.
    pub(crate) offsets: Vec<u32>,
    /// Remainder bits per posting, plus `REM_PAD` zero bytes so 16-byte reads stay in bounds.
    pub(crate) rem: Vec<u8>,
    /// Row number per posting, `row_width` little-endian bytes each, plus padding so a
    /// 4-byte read at the last posting stays in bounds. Empty for table 0.
    pub(crate) rows: Vec<u8>,
}

/// A static part of the index.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub(crate) dir_bits: u32,
    pub(crate) row_width: usize,
    pub(crate) hashes: Vec<Words>,
    pub(crate) ids: Vec<u64>,
    /// Row numbers sorted by id, for `remove`.
    pub(crate) by_id: Vec<u32>,
    /// Tombstones, one bit per row.
    pub(crate) dead: Vec<u64>,
    pub(crate) dead_count: usize,
    pub(crate) tables: Vec<Table>,
}

/// What a query needs precomputed once for every segment.
pub(crate) struct Query {
    pub(crate) w: Words,
    pub(crate) radius: u32,
    pub(crate) keys: [u32; TABLES],
    pub(crate) radii: [i32; TABLES],
}

impl Query {
    pub(crate) fn new(w: Words, radius: u32) -> Self {
        let mut keys = [0u32; TABLES];
        for (t, k) in keys.iter_mut().enumerate() {
            *k = key(&w, t);
        }
        Query {
            w,
            radius,
            keys,
            radii: crate::bits::radii(radius),
        }
    }

    /// Whether `h`, found through table `t`, is reported there: only the first probed table
    /// on which it lies within that table's radius reports it, so no hit is returned twice.
    /// (The bucket and remainder filters see only part of a substring, so a hash can pass
    /// table `t`'s filter while its substring is farther than `t`'s radius; such a hash is
    /// reported by the table that does claim it.)
    #[inline(always)]
    fn first_table(&self, h: &Words, t: usize) -> bool {
        if (key(h, t) ^ self.keys[t]).count_ones() > self.radii[t] as u32 {
            return false;
        }
        for i in 0..t {
            let r = self.radii[i];
            if r >= 0 && (key(h, i) ^ self.keys[i]).count_ones() <= r as u32 {
                return false;
            }
        }
        true
    }
}

/// Directory width for a segment of `n` rows: 8 to 16 postings per bucket (measured best at
/// 1 M and 10 M), so the offset arrays cost at most 5.5 bytes per row, and 1.2 at 10 M.
pub(crate) fn dir_bits_for(n: usize) -> u32 {
    let target = (n / 8).max(1);
    let bits = usize::BITS - 1 - target.leading_zeros();
    bits.clamp(MIN_DIR_BITS, MAX_DIR_BITS)
}

/// Bytes per stored row number.
pub(crate) fn row_width_for(n: usize) -> usize {
    if n <= 1 << 24 { 3 } else { 4 }
}

/// Zero bytes after the remainders.
pub(crate) const REM_PAD: usize = 16;

/// Remainders in posting order, padded.
fn padded_rem(perm: &[u32], codes: &[(u32, u8)]) -> Vec<u8> {
    let mut rem = Vec::with_capacity(perm.len() + REM_PAD);
    rem.extend(perm.iter().map(|&i| codes[i as usize].1));
    rem.extend_from_slice(&[0u8; REM_PAD]);
    rem
}

/// Reads posting `p`'s row number.
#[inline(always)]
fn read_row(rows: &[u8], width: usize, p: usize) -> usize {
    let at = p * width;
    let mut b = [0u8; 4];
    b.copy_from_slice(&rows[at..at + 4]);
    let v = u32::from_le_bytes(b);
    if width == 3 {
        (v & 0x00ff_ffff) as usize
    } else {
        v as usize
    }
}

/// Stable counting sort of `0..n` by (directory, remainder). Returns the permutation
/// (posting → input position) and the directory offsets.
fn sort_postings(codes: &[(u32, u8)], d: u32) -> (Vec<u32>, Vec<u32>) {
    let n = codes.len();
    let mut counts = [0u32; 257];
    for &(_, r) in codes {
        counts[r as usize + 1] += 1;
    }
    for i in 0..256 {
        counts[i + 1] += counts[i];
    }
    let mut by_rem = vec![0u32; n];
    for (i, &(_, r)) in codes.iter().enumerate() {
        let slot = &mut counts[r as usize];
        by_rem[*slot as usize] = i as u32;
        *slot += 1;
    }
    let buckets = 1usize << d;
    let mut offsets = vec![0u32; buckets + 1];
    for &(b, _) in codes {
        offsets[b as usize + 1] += 1;
    }
    for i in 0..buckets {
        offsets[i + 1] += offsets[i];
    }
    let mut next = offsets.clone();
    let mut out = vec![0u32; n];
    for &i in &by_rem {
        let b = codes[i as usize].0 as usize;
        out[next[b] as usize] = i;
        next[b] += 1;
    }
    (out, offsets)
}

impl Segment {
    /// Builds a segment. `entries` must have unique ids.
    pub(crate) fn build(entries: &[(u64, Words)]) -> Segment {
        let n = entries.len();
        assert!(
            n < u32::MAX as usize,
            "a segment holds fewer than 2^32 rows"
        );
        let d = dir_bits_for(n);
        let row_width = row_width_for(n);

        // Table 0 fixes the row order.
        let codes: Vec<(u32, u8)> = entries
            .iter()
            .map(|(_, w)| split(key(w, 0), 0, d))
            .collect();
        let (perm, offsets0) = sort_postings(&codes, d);
        let rem0 = padded_rem(&perm, &codes);
        drop(codes);
        let hashes: Vec<Words> = perm.iter().map(|&i| entries[i as usize].1).collect();
        let ids: Vec<u64> = perm.iter().map(|&i| entries[i as usize].0).collect();
        drop(perm);

        let mut tables = Vec::with_capacity(TABLES);
        tables.push(Table {
            offsets: offsets0,
            rem: rem0,
            rows: Vec::new(),
        });
        for t in 1..TABLES {
            let codes: Vec<(u32, u8)> = hashes.iter().map(|w| split(key(w, t), t, d)).collect();
            let (perm, offsets) = sort_postings(&codes, d);
            let rem = padded_rem(&perm, &codes);
            drop(codes);
            let mut rows = Vec::with_capacity(n * row_width + 4);
            for &r in &perm {
                rows.extend_from_slice(&r.to_le_bytes()[..row_width]);
            }
            rows.extend_from_slice(&[0u8; 4]);
            tables.push(Table { offsets, rem, rows });
        }

        let mut by_id: Vec<u32> = (0..n as u32).collect();
        by_id.sort_unstable_by_key(|&r| ids[r as usize]);

        Segment {
            dir_bits: d,
            row_width,
            hashes,
            ids,
            by_id,
            dead: vec![0u64; n.div_ceil(64)],
            dead_count: 0,
            tables,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.hashes.len()
    }

    pub(crate) fn live(&self) -> usize {
        self.rows() - self.dead_count
    }

    #[inline(always)]
    pub(crate) fn is_dead(&self, row: usize) -> bool {
        self.dead[row / 64] >> (row % 64) & 1 == 1
    }

    /// The live row holding `id`, if any.
    pub(crate) fn find_live(&self, id: u64) -> Option<usize> {
        let start = self.by_id.partition_point(|&r| self.ids[r as usize] < id);
        self.by_id[start..]
            .iter()
            .map(|&r| r as usize)
            .take_while(|&r| self.ids[r] == id)
            .find(|&r| !self.is_dead(r))
    }

    /// Tombstones a live row.
    pub(crate) fn kill(&mut self, row: usize) {
        debug_assert!(!self.is_dead(row));
        self.dead[row / 64] |= 1 << (row % 64);
        self.dead_count += 1;
    }

    /// Live (id, hash) pairs.
    pub(crate) fn live_entries(&self) -> impl Iterator<Item = (u64, Words)> + '_ {
        (0..self.rows())
            .filter(|&r| !self.is_dead(r))
            .map(|r| (self.ids[r], self.hashes[r]))
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        let mut b = self.hashes.capacity() * 32
            + self.ids.capacity() * 8
            + self.by_id.capacity() * 4
            + self.dead.capacity() * 8
            + self.tables.capacity() * std::mem::size_of::<Table>();
        for t in &self.tables {
            b += t.offsets.capacity() * 4 + t.rem.capacity() + t.rows.capacity();
        }
        b
    }

    /// Estimated cost of the multi-index search relative to a linear scan (1 per row).
    fn index_cost(&self, q: &Query) -> u64 {
        let d = self.dir_bits;
        let per_bucket = (self.rows() >> d) as u64;
        let mut visits = 0u64;
        for &r in &q.radii {
            if r >= 0 {
                for k in 0..=(r as u32).min(d) {
                    visits = visits.saturating_add(choose(d, k));
                }
            }
        }
        visits.saturating_mul(24 + per_bucket / 2)
    }

    /// Appends every live row within `q.radius` of the query to `out`.
    pub(crate) fn search(&self, q: &Query, out: &mut Vec<Match>) {
        self.search_with(q, out, true);
    }

    /// As `search`; `allow_scan: false` forces the multi-index path.
    pub(crate) fn search_with(&self, q: &Query, out: &mut Vec<Match>, allow_scan: bool) {
        if self.live() == 0 {
            return;
        }
        if allow_scan && self.index_cost(q) >= self.rows() as u64 {
            self.scan(q, out);
        } else {
            self.probe(q, out);
        }
    }

    /// Linear scan.
    fn scan(&self, q: &Query, out: &mut Vec<Match>) {
        for (row, h) in self.hashes.iter().enumerate() {
            let dist = distance(h, &q.w);
            if dist <= q.radius && !self.is_dead(row) {
                out.push(Match {
                    id: self.ids[row],
                    distance: dist,
                });
            }
        }
    }

    /// Multi-index search, in stages over all tables so that cache misses overlap instead of
    /// queueing behind each other: bucket offsets, then remainders, then row numbers, then
    /// hashes, each stage prefetching `AHEAD` items ahead of itself.
    fn probe(&self, q: &Query, out: &mut Vec<Match>) {
        const AHEAD: usize = 12;
        let d = self.dir_bits;
        let mut visits: Vec<Visit> = Vec::with_capacity(1536);
        let mut qrem = [0u8; TABLES];
        for (t, qr_t) in qrem.iter_mut().enumerate() {
            let r = q.radii[t];
            if r < 0 {
                continue;
            }
            let r = r as u32;
            let (qd, qr) = split(q.keys[t], t, d);
            *qr_t = qr;
            for k in 0..=r.min(d) {
                for_each_mask(d, k, |mask| {
                    visits.push(Visit {
                        t: t as u8,
                        allowed: (r - k) as u8,
                        lo: qd ^ mask,
                        hi: 0,
                    });
                });
            }
        }
        // Bucket numbers → posting ranges.
        for i in 0..visits.len() {
            if let Some(v) = visits.get(i + AHEAD) {
                prefetch(&self.tables[v.t as usize].offsets[v.lo as usize]);
            }
            let v = &mut visits[i];
            let offsets = &self.tables[v.t as usize].offsets;
            let b = v.lo as usize;
            v.lo = offsets[b];
            v.hi = offsets[b + 1];
        }
        visits.retain(|v| v.lo < v.hi);
        // Remainder filter → candidate postings.
        let mut cands: Vec<(u8, u32)> = Vec::with_capacity(1024);
        for i in 0..visits.len() {
            if let Some(v) = visits.get(i + AHEAD) {
                prefetch(&self.tables[v.t as usize].rem[v.lo as usize]);
            }
            let v = &visits[i];
            let t = v.t as usize;
            let (lo, hi) = (v.lo as usize, v.hi as usize);
            let allowed = u32::from(v.allowed);
            if allowed >= rem_bits(t, d) {
                cands.extend((lo..hi).map(|p| (v.t, p as u32)));
                continue;
            }
            let rem = &self.tables[t].rem;
            let mut at = lo;
            while at < hi {
                let mut chunk = [0u8; 16];
                chunk.copy_from_slice(&rem[at..at + 16]);
                let mut m = near_mask(&chunk, qrem[t], allowed);
                if hi - at < 16 {
                    m &= (1u32 << (hi - at)) - 1;
                }
                while m != 0 {
                    let j = m.trailing_zeros() as usize;
                    cands.push((v.t, (at + j) as u32));
                    m &= m - 1;
                }
                at += 16;
            }
        }
        // Postings → rows.
        for i in 0..cands.len() {
            if let Some(&(t, p)) = cands.get(i + AHEAD)
                && t != 0
            {
                prefetch(&self.tables[t as usize].rows[p as usize * self.row_width]);
            }
            let c = &mut cands[i];
            if c.0 != 0 {
                c.1 = read_row(
                    &self.tables[c.0 as usize].rows,
                    self.row_width,
                    c.1 as usize,
                ) as u32;
            }
        }
        // Verify.
        for i in 0..cands.len() {
            if let Some(&(_, row)) = cands.get(i + AHEAD) {
                prefetch(&self.hashes[row as usize]);
            }
            let (t, row) = cands[i];
            let row = row as usize;
            let h = &self.hashes[row];
            let dist = distance(h, &q.w);
            if dist <= q.radius && q.first_table(h, t as usize) && !self.is_dead(row) {
                out.push(Match {
                    id: self.ids[row],
                    distance: dist,
                });
            }
        }
    }
}

/// Bit `j` set where `chunk[j]` is within `allowed` bits of `qr`.
#[inline(always)]
fn near_mask(chunk: &[u8; 16], qr: u8, allowed: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if allowed <= 2 {
        return near_mask_sse2(chunk, qr, allowed);
    }
    let mut m = 0u32;
    for (j, &x) in chunk.iter().enumerate() {
        m |= u32::from((x ^ qr).count_ones() <= allowed) << j;
    }
    m
}

/// `near_mask` for `allowed` ≤ 2 with SSE2 (part of every x86-64 CPU): a byte has at most
/// one bit set when `y & (y - 1)` is zero; clearing the lowest bit twice gives "at most two".
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)] // SSE2 intrinsics; see the SAFETY note inside.
fn near_mask_sse2(chunk: &[u8; 16], qr: u8, allowed: u32) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_setzero_si128, _mm_sub_epi8, _mm_xor_si128,
    };
    // SAFETY: SSE2 is part of the x86-64 baseline, and the load reads exactly the 16 bytes
    // of `chunk`.
    unsafe {
        let x = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let mut y = _mm_xor_si128(x, _mm_set1_epi8(qr as i8));
        let one = _mm_set1_epi8(1);
        for _ in 0..allowed {
            y = _mm_and_si128(y, _mm_sub_epi8(y, one));
        }
        _mm_movemask_epi8(_mm_cmpeq_epi8(y, _mm_setzero_si128())) as u32
    }
}

/// One directory bucket to read: first the bucket number in `lo`, then its posting range.
struct Visit {
    t: u8,
    allowed: u8,
    lo: u32,
    hi: u32,
}

/// Asks the CPU to start loading the cache line holding `x`.
#[inline(always)]
#[allow(unsafe_code)] // a prefetch hint; see the SAFETY note inside.
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults and `x` is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::WIDTHS;

    #[test]
    fn dir_bits_grow_with_size() {
        assert_eq!(dir_bits_for(0), MIN_DIR_BITS);
        assert_eq!(dir_bits_for(1 << 20), 17);
        assert_eq!(dir_bits_for(1_000_000), 16);
        assert_eq!(dir_bits_for(10_000_000), 18);
        assert!(WIDTHS.iter().all(|&w| w > MAX_DIR_BITS));
    }

    #[test]
    fn row_numbers_round_trip() {
        for width in [3usize, 4] {
            let vals = [0u32, 1, 255, 65_536, (1 << 24) - 1];
            let mut rows = Vec::new();
            for v in vals {
                rows.extend_from_slice(&v.to_le_bytes()[..width]);
            }
            rows.extend_from_slice(&[0u8; 4]);
            for (p, v) in vals.iter().enumerate() {
                assert_eq!(read_row(&rows, width, p), *v as usize);
            }
        }
    }
}
