//! Exact Hamming range search over 256-bit PDQ hashes.
//!
//! [`PdqIndex`] answers "every stored hash within distance `r` of this one" with results
//! identical to a linear scan ([`brute_force`]), for any radius; radii up to 31 (the PDQ
//! match threshold) take the fast path. It is a multi-index hash (pigeonhole over 11
//! substrings, see ADR 0400) kept as a few immutable compact segments, a small unsorted
//! delta for fresh inserts and tombstones for deletes, merged geometrically so inserts and
//! deletes cost microseconds (amortised) and nothing is rebuilt in full on a write.
//!
//! ```
//! use takedown_pdq_index::PdqIndex;
//! let mut index = PdqIndex::new();
//! let a = [0u8; 32];
//! let mut b = a;
//! b[0] = 0b0000_0111; // 3 bits away
//! index.insert(7, &a);
//! index.insert(8, &b);
//! let hits = index.search(&a, 31);
//! assert_eq!(hits.iter().map(|m| (m.id, m.distance)).collect::<Vec<_>>(), [(7, 0), (8, 3)]);
//! ```

mod bits;
mod persist;
mod segment;

use std::collections::HashMap;

use bits::{Words, distance, to_bytes, to_words};
use segment::{Query, Segment};

/// A 256-bit PDQ hash as raw bytes (same byte order as the 64-hex form).
pub type Hash = [u8; 32];

/// One search hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    /// The id the hash was inserted under.
    pub id: u64,
    /// Hamming distance between the stored hash and the query.
    pub distance: u32,
}

/// Inserts land in an unsorted delta searched by linear scan; once it holds this many they
/// become a segment.
const DELTA_CAP: usize = 4096;
/// Segments are kept at least this factor apart in size (newer ones smaller); a segment
/// that grows past a fraction 1/MERGE_FACTOR of its older neighbour is merged into it.
const MERGE_FACTOR: usize = 4;

/// An exact Hamming range-search index over PDQ hashes, keyed by `u64` ids.
///
/// Cheap to share between threads (`Send + Sync`); searches take `&self`.
#[derive(Clone, Debug, Default)]
pub struct PdqIndex {
    /// Oldest (largest) first.
    segments: Vec<Segment>,
    delta: Vec<(u64, Words)>,
    delta_pos: HashMap<u64, usize>,
    len: usize,
    /// Delta size that triggers a flush; 0 means [`DELTA_CAP`].
    delta_cap: usize,
}

impl PdqIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index expecting about `n` hashes. Inserting one by one still works; for a
    /// bulk load [`PdqIndex::from_entries`] is much faster.
    pub fn with_capacity(n: usize) -> Self {
        let mut index = Self::new();
        let delta = n.min(DELTA_CAP);
        index.delta.reserve(delta);
        index.delta_pos.reserve(delta);
        index
    }

    /// Builds an index from `(id, hash)` pairs in one go (the fast way to load a list). When
    /// an id occurs more than once, the last pair wins, as with [`PdqIndex::insert`].
    ///
    /// # Panics
    /// With 2³² − 1 entries or more (one segment numbers its rows with `u32`).
    pub fn from_entries(entries: impl IntoIterator<Item = (u64, Hash)>) -> Self {
        let entries: Vec<(u64, Words)> = entries
            .into_iter()
            .map(|(id, h)| (id, to_words(&h)))
            .collect();
        let mut index = Self::new();
        index.push_segment(unique_last(entries));
        index
    }

    /// Inserts `hash` under `id`, replacing what `id` held before.
    pub fn insert(&mut self, id: u64, hash: &Hash) {
        self.remove(id);
        self.delta_pos.insert(id, self.delta.len());
        self.delta.push((id, to_words(hash)));
        self.len += 1;
        if self.delta.len() >= self.delta_cap() {
            self.flush_delta();
        }
    }

    /// Removes `id`; returns whether it was present.
    pub fn remove(&mut self, id: u64) -> bool {
        if let Some(pos) = self.delta_pos.remove(&id) {
            self.delta.swap_remove(pos);
            if let Some(&(moved, _)) = self.delta.get(pos) {
                self.delta_pos.insert(moved, pos);
            }
            self.len -= 1;
            return true;
        }
        for s in (0..self.segments.len()).rev() {
            if let Some(row) = self.segments[s].find_live(id) {
                self.segments[s].kill(row);
                self.len -= 1;
                self.reclaim(s);
                return true;
            }
        }
        false
    }

    /// The hash stored under `id`, if any.
    pub fn get(&self, id: u64) -> Option<Hash> {
        if let Some(&pos) = self.delta_pos.get(&id) {
            return Some(to_bytes(&self.delta[pos].1));
        }
        self.segments
            .iter()
            .rev()
            .find_map(|s| s.find_live(id).map(|row| to_bytes(&s.hashes[row])))
    }

    /// Whether `id` is stored.
    pub fn contains(&self, id: u64) -> bool {
        self.delta_pos.contains_key(&id) || self.segments.iter().any(|s| s.find_live(id).is_some())
    }

    /// Number of stored hashes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every stored hash within `radius` of `query`, sorted by (distance, id). Exact for any
    /// radius (≤ 31 is the fast path).
    pub fn search(&self, query: &Hash, radius: u32) -> Vec<Match> {
        let q = Query::new(to_words(query), radius);
        let mut out = Vec::new();
        for s in &self.segments {
            s.search(&q, &mut out);
        }
        for (id, h) in &self.delta {
            let dist = distance(h, &q.w);
            if dist <= radius {
                out.push(Match {
                    id: *id,
                    distance: dist,
                });
            }
        }
        out.sort_unstable_by_key(|m| (m.distance, m.id));
        out
    }

    /// [`PdqIndex::search`] for many queries on up to `threads` threads (at least one); the
    /// answer for `queries[i]` is at index `i`.
    pub fn search_batch(&self, queries: &[Hash], radius: u32, threads: usize) -> Vec<Vec<Match>> {
        let threads = threads.clamp(1, queries.len().max(1));
        if threads == 1 {
            return queries.iter().map(|q| self.search(q, radius)).collect();
        }
        let mut out: Vec<Vec<Match>> = vec![Vec::new(); queries.len()];
        let chunk = queries.len().div_ceil(threads);
        std::thread::scope(|scope| {
            for (qs, os) in queries.chunks(chunk).zip(out.chunks_mut(chunk)) {
                scope.spawn(move || {
                    for (q, o) in qs.iter().zip(os.iter_mut()) {
                        *o = self.search(q, radius);
                    }
                });
            }
        });
        out
    }

    /// Merges everything into one segment: the most compact and fastest form, worth calling
    /// after a bulk of writes and before [`PdqIndex::save_to`]. Takes time linear in the size.
    pub fn compact(&mut self) {
        if self.segments.len() == 1 && self.delta.is_empty() && self.segments[0].dead_count == 0 {
            return;
        }
        let mut entries: Vec<(u64, Words)> = Vec::with_capacity(self.len);
        for s in self.segments.drain(..) {
            entries.extend(s.live_entries());
        }
        entries.append(&mut self.delta);
        self.delta_pos.clear();
        self.push_segment(entries);
    }

    /// Every stored `(id, hash)`, in no particular order. A compacted copy is
    /// [`PdqIndex::from_entries`] of this: the sidecar builds it on another thread while
    /// this index keeps serving, then swaps it in.
    pub fn entries(&self) -> Vec<(u64, Hash)> {
        let mut out = Vec::with_capacity(self.len);
        for s in &self.segments {
            out.extend(s.live_entries().map(|(id, w)| (id, to_bytes(&w))));
        }
        out.extend(self.delta.iter().map(|(id, w)| (*id, to_bytes(w))));
        out
    }

    /// Rows that hold deleted entries, not yet reclaimed (a merge or
    /// [`PdqIndex::compact`] drops them).
    pub fn dead_rows(&self) -> usize {
        let rows: usize = self.segments.iter().map(Segment::rows).sum();
        (rows + self.delta.len()).saturating_sub(self.len)
    }

    /// Bytes of heap memory the index holds (capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        let segs: usize = self.segments.iter().map(Segment::heap_bytes).sum();
        let seg_vec = self.segments.capacity() * std::mem::size_of::<Segment>();
        let delta = self.delta.capacity() * std::mem::size_of::<(u64, Words)>();
        // hashbrown: one control byte plus one (key, value) slot per bucket.
        let map = self.delta_pos.capacity() * (1 + std::mem::size_of::<(u64, usize)>());
        segs + seg_vec + delta + map
    }

    /// Number of static segments (for tests and diagnostics).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Rows (live and dead) of each static segment, oldest first, and the delta's length
    /// (for diagnostics and the bench).
    pub fn shape(&self) -> (Vec<usize>, usize) {
        (
            self.segments.iter().map(Segment::rows).collect(),
            self.delta.len(),
        )
    }

    /// Writes the index in a compact versioned binary form.
    pub fn save_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        persist::save(self, w)
    }

    /// Loads what [`PdqIndex::save_to`] wrote, in one read; a damaged or foreign file is an
    /// error, never a panic.
    pub fn load_from(r: &mut impl std::io::Read) -> std::io::Result<Self> {
        persist::load(r)
    }

    /// Turns the delta into a segment and restores the size invariant.
    fn flush_delta(&mut self) {
        let entries = std::mem::take(&mut self.delta);
        self.delta_pos.clear();
        self.push_segment(entries);
        self.delta.reserve(self.delta_cap());
    }

    fn delta_cap(&self) -> usize {
        if self.delta_cap == 0 {
            DELTA_CAP
        } else {
            self.delta_cap
        }
    }

    /// Sets how many fresh inserts are kept unindexed (searched by a linear scan) before
    /// they become a segment; default 4096. Larger makes inserts cheaper and searches
    /// slower. Mainly for tests, which set it small to exercise merging.
    pub fn set_delta_capacity(&mut self, n: usize) {
        self.delta_cap = n.max(1);
        if self.delta.len() >= self.delta_cap {
            self.flush_delta();
        }
    }

    /// [`PdqIndex::search`] forcing the multi-index path on every segment, even where a
    /// linear scan is cheaper: lets tests check that path on small data.
    #[doc(hidden)]
    pub fn search_multi_index_only(&self, query: &Hash, radius: u32) -> Vec<Match> {
        let q = Query::new(to_words(query), radius);
        let mut out = Vec::new();
        for s in &self.segments {
            s.search_with(&q, &mut out, false);
        }
        for (id, h) in &self.delta {
            let dist = distance(h, &q.w);
            if dist <= radius {
                out.push(Match {
                    id: *id,
                    distance: dist,
                });
            }
        }
        out.sort_unstable_by_key(|m| (m.distance, m.id));
        out
    }

    /// Adds a segment built from unique-id `entries` (newest), then merges while the newest
    /// segment is within a factor MERGE_FACTOR of the one before it.
    fn push_segment(&mut self, entries: Vec<(u64, Words)>) {
        if entries.is_empty() {
            self.recount();
            return;
        }
        self.segments.push(Segment::build(&entries));
        drop(entries);
        while self.segments.len() >= 2 {
            let n = self.segments.len();
            if self.segments[n - 1].live() * MERGE_FACTOR <= self.segments[n - 2].live() {
                break;
            }
            let newer = self.segments.pop();
            let older = self.segments.pop();
            let mut merged: Vec<(u64, Words)> = Vec::new();
            for s in [older, newer].into_iter().flatten() {
                merged.reserve(s.live());
                merged.extend(s.live_entries());
            }
            if !merged.is_empty() {
                self.segments.push(Segment::build(&merged));
            }
        }
        self.recount();
    }

    /// Rebuilds segment `s` without its dead rows once they are the majority.
    fn reclaim(&mut self, s: usize) {
        let seg = &self.segments[s];
        if seg.dead_count * 2 <= seg.rows() {
            return;
        }
        let live: Vec<(u64, Words)> = seg.live_entries().collect();
        if live.is_empty() {
            self.segments.remove(s);
        } else {
            self.segments[s] = Segment::build(&live);
        }
    }

    fn recount(&mut self) {
        self.len = self.segments.iter().map(Segment::live).sum::<usize>() + self.delta.len();
    }
}

/// Keeps the last pair for each id.
fn unique_last(entries: Vec<(u64, Words)>) -> Vec<(u64, Words)> {
    let mut order: Vec<(u64, u32)> = entries
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i as u32))
        .collect();
    order.sort_unstable();
    let mut keep = Vec::with_capacity(entries.len());
    for (i, &(id, pos)) in order.iter().enumerate() {
        if order.get(i + 1).is_none_or(|next| next.0 != id) {
            keep.push(pos);
        }
    }
    if keep.len() == entries.len() {
        return entries;
    }
    keep.sort_unstable();
    keep.into_iter().map(|pos| entries[pos as usize]).collect()
}

/// Every entry of `stored` within `radius` of `query`, sorted by (distance, id): the
/// reference the index is tested and benchmarked against. `stored` may hold an id twice; each
/// pair is then reported.
pub fn brute_force(stored: &[(u64, Hash)], query: &Hash, radius: u32) -> Vec<Match> {
    let q = to_words(query);
    let mut out: Vec<Match> = stored
        .iter()
        .filter_map(|(id, h)| {
            let dist = distance(&to_words(h), &q);
            (dist <= radius).then_some(Match {
                id: *id,
                distance: dist,
            })
        })
        .collect();
    out.sort_unstable_by_key(|m| (m.distance, m.id));
    out
}

/// Hamming distance between two hashes.
pub fn hamming(a: &Hash, b: &Hash) -> u32 {
    distance(&to_words(a), &to_words(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn index_is_send_and_sync() {
        assert_send_sync::<PdqIndex>();
    }
}
