//! Matching uploads against the local list.
//!
//! * PDQ: both qualities ≥ [`p::PDQ_MIN_QUALITY`], distance ≤ [`p::PDQ_MATCH_DISTANCE`],
//!   through the PDQ index.
//! * MD5 and SHA-256: exact lookups, pictures and videos (any file).
//! * vPDQ: a video matches an item when ≥ [`p::VPDQ_MATCH_PERCENT`] % of the query's
//!   usable frames (quality ≥ 50, distinct) are within distance 31 of some frame of
//!   that item. Video frames live in the same index as pictures, under frame keys
//!   ([`frame_key`]) that map back to the item.
//! * Edge cuts (ADR 0410): a listed picture's PDQ with its top or bottom 20 %
//!   removed is indexed under a cut key ([`cut_key`]) that maps back to the
//!   item; a hit on a cut is a hit on the item, and [`Hit::listed`] says which
//!   listed hash matched.
//! * Query expansion (on by default, [`crate::expand`]): each query picture is also
//!   searched as its 8 dihedral variants and with uniform borders trimmed; a hit
//!   reports the variant that matched and its distance.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use takedown_protocol::{self as p, CutEdge, ItemKind};

use crate::index::{Hash, PdqIndex};
use crate::store::{Change, Entry, Store};

pub mod snapshot;

/// Which fingerprint matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    /// PDQ perceptual hash of a picture.
    Pdq,
    /// MD5 of the file.
    Md5,
    /// SHA-256 of the file.
    Sha256,
    /// vPDQ frames of a video.
    Vpdq,
}

/// One listed item an upload matched.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hit {
    /// The listed item (use it for feedback).
    pub item_id: i64,
    /// The listed item's kind.
    pub kind: ItemKind,
    /// Which fingerprint matched.
    pub hash: HashKind,
    /// Hamming distance (0 for exact hashes; for vPDQ the largest distance among
    /// the query frames that matched).
    pub distance: u32,
    /// The query variant that matched (`original`, `rotate90`, …, `trimmed`,
    /// `trimmed+flipx`, …); `None` for exact hashes and vPDQ.
    pub variant: Option<String>,
    /// vPDQ only: percentage of the query's usable frames that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_percent: Option<f64>,
    /// PDQ only: which listed hash of the item matched: `picture` (its own PDQ)
    /// or one of its edge cuts (`cut-top-20`, `cut-bottom-20`; [`listed_name`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<String>,
}

/// The name [`Hit::listed`] gives a listed edge cut: `cut-<edge>-<percent>`.
pub fn listed_name(edge: CutEdge) -> String {
    format!("cut-{}-{}", edge.as_str(), p::EDGE_CUT_PERCENT)
}

/// A query PDQ with the name of the variant it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryPdq {
    /// Variant name (`original`, `rotate90`, `trimmed`, …).
    pub variant: String,
    /// The hash.
    pub hash: Hash,
    /// Its quality.
    pub quality: u8,
}

/// Bit set on index ids that are video frames (pictures use the bare item id).
const FRAME_FLAG: u64 = 1 << 63;
/// Bits of the frame number within a frame key (8192 > the 7200 frames a video may have).
const FRAME_BITS: u32 = 13;

/// Slots of a frame key from which on the key is a picture's edge cut, not a
/// frame (no video has this many frames: [`p::MAX_FRAMES_PER_VIDEO`]).
const CUT_SLOTS_FROM: u64 = 8176;
const _: () = assert!(p::MAX_FRAMES_PER_VIDEO < CUT_SLOTS_FROM as usize);

/// Index id of frame `idx` of video `item_id`.
pub fn frame_key(item_id: i64, idx: usize) -> u64 {
    FRAME_FLAG | ((item_id as u64) << FRAME_BITS) | idx as u64
}

/// Index id of the edge cut of picture `item_id` that removes `edge`: a frame
/// key whose slot is beyond any frame (8176 + the edge's code).
pub fn cut_key(item_id: i64, edge: CutEdge) -> u64 {
    FRAME_FLAG | ((item_id as u64) << FRAME_BITS) | (CUT_SLOTS_FROM + u64::from(edge.code()))
}

/// What an index id stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// A picture's own PDQ.
    Picture(i64),
    /// A video frame.
    Frame(i64),
    /// A picture's edge cut.
    Cut(i64, CutEdge),
}

/// The item of an index id, and what kind of hash it is.
fn key_of(key: u64) -> Key {
    if key & FRAME_FLAG == 0 {
        return Key::Picture(key as i64);
    }
    let item = ((key & !FRAME_FLAG) >> FRAME_BITS) as i64;
    let slot = key & ((1 << FRAME_BITS) - 1);
    match slot
        .checked_sub(CUT_SLOTS_FROM)
        .and_then(|c| u8::try_from(c).ok())
        .and_then(CutEdge::from_code)
    {
        Some(edge) => Key::Cut(item, edge),
        None => Key::Frame(item),
    }
}

#[derive(Clone, Debug)]
struct ItemInfo {
    kind: ItemKind,
    md5: [u8; 16],
    sha256: [u8; 32],
    in_index: bool,
    frame_keys: Vec<u64>,
    /// Edge cuts in the index, one bit per [`CutEdge::code`].
    cut_edges: u8,
}

/// The edges whose bit is set in a [`ItemInfo::cut_edges`] mask.
fn cut_edges_of(mask: u8) -> impl Iterator<Item = CutEdge> {
    CutEdge::ALL
        .into_iter()
        .filter(move |e| mask & (1 << e.code()) != 0)
}

/// A write to the PDQ index, recorded while a background compaction runs so it can
/// be replayed onto the compacted copy before the swap.
#[derive(Clone, Copy, Debug)]
enum IndexOp {
    Insert(u64, Hash),
    Remove(u64),
}

/// The in-memory view of the list the matcher searches: the PDQ index (pictures
/// and video frames) and the exact-hash maps.
pub struct Matcher {
    index: PdqIndex,
    md5: HashMap<[u8; 16], Vec<i64>>,
    sha256: HashMap<[u8; 32], Vec<i64>>,
    items: HashMap<i64, ItemInfo>,
    /// The sync position this state is exactly: the store's cursor and `applied`
    /// counter. `None` once fed changes without their page's cursor
    /// ([`Matcher::apply`]); such a matcher is never saved.
    position: Option<Position>,
    /// Index writes since a background compaction began (`None`: none runs).
    compaction_log: Mutex<Option<Vec<IndexOp>>>,
}

/// Where in the sync a matcher's state is: the key of a saved matcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The sync cursor.
    pub cursor: i64,
    /// Sync records applied so far (the store's `applied` counter).
    pub applied: i64,
}

/// A compaction started by [`Matcher::begin_compaction`]: the live entries of the
/// index, to build the compacted copy from on another thread.
pub struct Compaction {
    entries: Vec<(u64, Hash)>,
}

impl Compaction {
    /// Builds the compacted index (one segment, no tombstones). Takes time linear
    /// in the list; run it off the serving path.
    pub fn build(self) -> CompactedIndex {
        CompactedIndex(PdqIndex::from_entries(self.entries))
    }
}

/// A compacted index, ready for [`Matcher::finish_compaction`].
pub struct CompactedIndex(PdqIndex);

/// How [`Matcher::open`] got its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// Loaded from the saved matcher, whose position equals the store's.
    Loaded,
    /// Rebuilt from the store; the reason the saved matcher was not used.
    Rebuilt(String),
}

/// Name of the saved matcher in the data directory, beside the list's SQLite file.
pub const SNAPSHOT_FILE: &str = "matcher.snapshot";

/// Writes a saved matcher ([`Matcher::encode_snapshot`]) to `path` atomically
/// (beside it, synced, renamed over it).
pub fn write_snapshot(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    snapshot::write_atomically(path, bytes)
}

/// Path of the saved matcher belonging to the list at `db`.
pub fn snapshot_path(db: &Path) -> PathBuf {
    db.with_file_name(SNAPSHOT_FILE)
}

fn push_id<K: std::hash::Hash + Eq>(m: &mut HashMap<K, Vec<i64>>, k: K, id: i64) {
    let v = m.entry(k).or_default();
    if !v.contains(&id) {
        v.push(id);
    }
}

fn drop_id<K: std::hash::Hash + Eq>(m: &mut HashMap<K, Vec<i64>>, k: &K, id: i64) {
    if let Some(v) = m.get_mut(k) {
        v.retain(|&x| x != id);
        if v.is_empty() {
            m.remove(k);
        }
    }
}

impl Default for Matcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Matcher {
    /// An empty matcher.
    pub fn new() -> Self {
        Matcher {
            index: PdqIndex::new(),
            md5: HashMap::new(),
            sha256: HashMap::new(),
            items: HashMap::new(),
            position: None,
            compaction_log: Mutex::new(None),
        }
    }

    /// Builds the matcher from the store's active entries (the index in one bulk
    /// build), at the store's position.
    pub fn from_store(store: &Store) -> crate::error::Result<Self> {
        let stats = store.stats()?;
        let mut m = Matcher::new();
        let mut pairs: Vec<(u64, Hash)> = Vec::new();
        store.for_each_active(|e| m.register(&e, &mut |k, h| pairs.push((k, *h))))?;
        m.index = PdqIndex::from_entries(pairs);
        m.position = Some(Position {
            cursor: stats.cursor,
            applied: stats.applied,
        });
        Ok(m)
    }

    /// The saved matcher beside the store when its position equals the store's
    /// (one read of one file, no SQLite scan); otherwise rebuilt from the store.
    /// A missing, stale, damaged or foreign file is never an error, only a rebuild.
    pub fn open(store: &Store, snapshot: &Path) -> crate::error::Result<(Self, Opened)> {
        let stats = store.stats()?;
        let want = Position {
            cursor: stats.cursor,
            applied: stats.applied,
        };
        let reason = match snapshot::load(snapshot) {
            Ok(m) if m.position == Some(want) && m.len() as i64 == stats.active => {
                return Ok((m, Opened::Loaded));
            }
            Ok(m) => match m.position {
                Some(at) if at.cursor != want.cursor => format!(
                    "saved at cursor {}, the list is at {}",
                    at.cursor, want.cursor
                ),
                _ => "saved state does not fit the list".to_string(),
            },
            Err(e) => e,
        };
        Ok((Self::from_store(store)?, Opened::Rebuilt(reason)))
    }

    /// Saves the matcher to `path` (written beside it, synced, then renamed over
    /// it, so a crash leaves the old file or the new one). Returns `false` without
    /// writing when the matcher's sync position is unknown.
    pub fn save(&self, path: &Path) -> std::io::Result<bool> {
        let Some(bytes) = snapshot::encode(self) else {
            return Ok(false);
        };
        snapshot::write_atomically(path, &bytes)?;
        Ok(true)
    }

    /// The saved form and the position it is keyed to (`None` when the position is
    /// unknown). The sidecar encodes under its read lock and writes outside it
    /// with [`write_snapshot`].
    pub fn encode_snapshot(&self) -> Option<(Position, Vec<u8>)> {
        Some((self.position?, snapshot::encode(self)?))
    }

    /// The sync position this state is exactly (`None` when unknown).
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    /// Applies a committed sync page; `position` is the store's after it.
    pub fn apply_page(&mut self, changes: &[Change], position: Position) {
        let known = self.position.is_some();
        self.apply(changes);
        if known {
            self.position = Some(position);
        }
    }

    /// Applies a committed sync page without its position: the matcher is
    /// current, but no longer knows its exact sync position (it is not saved).
    pub fn apply(&mut self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Upsert(e) => self.upsert(e),
                Change::Remove { item_id, .. } => self.remove(*item_id),
            }
        }
        self.position = None;
    }

    fn index_insert(&mut self, key: u64, hash: &Hash) {
        self.index.insert(key, hash);
        if let Ok(mut log) = self.compaction_log.lock()
            && let Some(log) = log.as_mut()
        {
            log.push(IndexOp::Insert(key, *hash));
        }
    }

    fn index_remove(&mut self, key: u64) {
        self.index.remove(key);
        if let Ok(mut log) = self.compaction_log.lock()
            && let Some(log) = log.as_mut()
        {
            log.push(IndexOp::Remove(key));
        }
    }

    /// Whether a compaction would pay: deleted rows over an eighth of the list, or
    /// more than four segments.
    pub fn needs_compaction(&self) -> bool {
        self.index.dead_rows() * 8 > self.index.len().max(1024) || self.index.segment_count() > 4
    }

    /// Starts a background compaction: copies the index's live entries (call it
    /// under a read lock; searches go on) and records every index write from now
    /// on. `None` when one is already running.
    pub fn begin_compaction(&self) -> Option<Compaction> {
        let mut log = self.compaction_log.lock().ok()?;
        if log.is_some() {
            return None;
        }
        *log = Some(Vec::new());
        Some(Compaction {
            entries: self.index.entries(),
        })
    }

    /// Replays the writes made since [`Matcher::begin_compaction`] onto the
    /// compacted index and swaps it in (call it under the write lock: it takes
    /// only as long as those writes). Returns the old index, to drop outside the
    /// lock.
    pub fn finish_compaction(&mut self, built: CompactedIndex) -> PdqIndex {
        let mut new = built.0;
        let log = self
            .compaction_log
            .lock()
            .map(|mut l| l.take())
            .unwrap_or(None);
        for op in log.unwrap_or_default() {
            match op {
                IndexOp::Insert(k, h) => new.insert(k, &h),
                IndexOp::Remove(k) => {
                    new.remove(k);
                }
            }
        }
        std::mem::replace(&mut self.index, new)
    }

    /// Gives up a compaction begun with [`Matcher::begin_compaction`].
    pub fn abort_compaction(&self) {
        if let Ok(mut l) = self.compaction_log.lock() {
            *l = None;
        }
    }

    /// Segments and deleted rows of the index (diagnostics, metrics).
    pub fn index_shape(&self) -> (usize, usize) {
        (self.index.segment_count(), self.index.dead_rows())
    }

    /// Adds (or replaces) an entry.
    pub fn upsert(&mut self, e: &Entry) {
        self.remove(e.item_id);
        let mut pending: Vec<(u64, Hash)> = Vec::new();
        self.register(e, &mut |k, h| pending.push((k, *h)));
        for (k, h) in pending {
            self.index_insert(k, &h);
        }
    }

    /// Records `e` in the maps and hands its index keys to `to_index` (the entry
    /// must not be present).
    fn register(&mut self, e: &Entry, to_index: &mut dyn FnMut(u64, &Hash)) {
        let in_index = match e.pdq {
            Some(pdq) if e.kind == ItemKind::Image && pdq.quality >= p::PDQ_MIN_QUALITY => {
                to_index(e.item_id as u64, &pdq.hash);
                true
            }
            _ => false,
        };
        let mut cut_edges = 0u8;
        if e.kind == ItemKind::Image {
            for c in &e.edge_cuts {
                let bit = 1u8 << c.edge.code();
                if c.percent == p::EDGE_CUT_PERCENT
                    && c.pdq.quality >= p::PDQ_MIN_QUALITY
                    && cut_edges & bit == 0
                {
                    to_index(cut_key(e.item_id, c.edge), &c.pdq.hash);
                    cut_edges |= bit;
                }
            }
        }
        let mut frame_keys = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, f) in e.frames.iter().enumerate() {
            if f.pdq.quality >= p::PDQ_MIN_QUALITY && seen.insert(f.pdq.hash) {
                let k = frame_key(e.item_id, i);
                to_index(k, &f.pdq.hash);
                frame_keys.push(k);
            }
        }
        push_id(&mut self.md5, e.md5, e.item_id);
        push_id(&mut self.sha256, e.sha256, e.item_id);
        self.items.insert(
            e.item_id,
            ItemInfo {
                kind: e.kind,
                md5: e.md5,
                sha256: e.sha256,
                in_index,
                frame_keys,
                cut_edges,
            },
        );
    }

    /// Removes an item (withdrawn); no-op when it is not present.
    pub fn remove(&mut self, item_id: i64) {
        let Some(info) = self.items.remove(&item_id) else {
            return;
        };
        if info.in_index {
            self.index_remove(item_id as u64);
        }
        for k in &info.frame_keys {
            self.index_remove(*k);
        }
        for edge in cut_edges_of(info.cut_edges) {
            self.index_remove(cut_key(item_id, edge));
        }
        drop_id(&mut self.md5, &info.md5, item_id);
        drop_id(&mut self.sha256, &info.sha256, item_id);
    }

    /// Number of items on the list.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of hashes in the PDQ index (pictures, their edge cuts and video frames).
    pub fn indexed_hashes(&self) -> usize {
        self.index.len()
    }

    /// Heap bytes the PDQ index holds (rows, multi-index tables, tombstones).
    pub fn index_heap_bytes(&self) -> usize {
        self.index.heap_bytes()
    }

    fn kind(&self, item_id: i64) -> ItemKind {
        self.items.get(&item_id).map_or(ItemKind::Image, |i| i.kind)
    }

    /// Items whose MD5 or SHA-256 equals the file's.
    pub fn match_exact(&self, md5: &[u8; 16], sha256: &[u8; 32]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for (ids, hash) in [
            (self.md5.get(md5), HashKind::Md5),
            (self.sha256.get(sha256), HashKind::Sha256),
        ] {
            for &id in ids.into_iter().flatten() {
                hits.push(Hit {
                    item_id: id,
                    kind: self.kind(id),
                    hash,
                    distance: 0,
                    variant: None,
                    matched_percent: None,
                    listed: None,
                });
            }
        }
        hits
    }

    /// Listed pictures within the PDQ rule of any query variant, against the
    /// picture's own PDQ or one of its edge cuts: one hit per item, the smallest
    /// distance (on ties the earlier variant, then the picture before its cuts).
    /// Query variants of quality below 50 are not searched.
    pub fn match_pdq(&self, queries: &[QueryPdq]) -> Vec<Hit> {
        // Per item: (distance, query variant, listed hash: 0 picture, else the
        // cut's edge code).
        let mut best: HashMap<i64, (u32, usize, u8)> = HashMap::new();
        for (qi, q) in queries.iter().enumerate() {
            if q.quality < p::PDQ_MIN_QUALITY {
                continue;
            }
            for m in self.index.search(&q.hash, p::PDQ_MATCH_DISTANCE) {
                let (item, listed) = match key_of(m.id) {
                    Key::Picture(item) => (item, 0),
                    Key::Cut(item, edge) => (item, edge.code()),
                    Key::Frame(_) => continue,
                };
                let this = (m.distance, qi, listed);
                let e = best.entry(item).or_insert(this);
                if this < *e {
                    *e = this;
                }
            }
        }
        let mut hits: Vec<Hit> = best
            .into_iter()
            .map(|(item_id, (distance, qi, listed))| Hit {
                item_id,
                kind: ItemKind::Image,
                hash: HashKind::Pdq,
                distance,
                variant: Some(queries[qi].variant.clone()),
                matched_percent: None,
                listed: Some(
                    CutEdge::from_code(listed).map_or_else(|| "picture".to_string(), listed_name),
                ),
            })
            .collect();
        hits.sort_by_key(|h| (h.distance, h.item_id));
        hits
    }

    /// Listed videos matched by the vPDQ rule, given the query's frames as
    /// (hash, quality).
    pub fn match_frames(&self, frames: &[(Hash, u8)]) -> Vec<Hit> {
        let mut seen = std::collections::HashSet::new();
        let usable: Vec<&Hash> = frames
            .iter()
            .filter(|(h, q)| *q >= p::PDQ_MIN_QUALITY && seen.insert(*h))
            .map(|(h, _)| h)
            .collect();
        if usable.is_empty() {
            return Vec::new();
        }
        // Per item: query frames matched, and the worst of their best distances.
        let mut per_item: HashMap<i64, (usize, u32)> = HashMap::new();
        for q in &usable {
            let mut best_here: HashMap<i64, u32> = HashMap::new();
            for m in self.index.search(q, p::PDQ_MATCH_DISTANCE) {
                if let Key::Frame(item) = key_of(m.id) {
                    best_here.entry(item).or_insert(m.distance);
                }
            }
            for (item, d) in best_here {
                let e = per_item.entry(item).or_insert((0, 0));
                e.0 += 1;
                e.1 = e.1.max(d);
            }
        }
        let n = usable.len() as f64;
        let mut hits: Vec<Hit> = per_item
            .into_iter()
            .filter_map(|(item_id, (k, worst))| {
                let pct = k as f64 * 100.0 / n;
                (pct >= p::VPDQ_MATCH_PERCENT).then_some(Hit {
                    item_id,
                    kind: ItemKind::Video,
                    hash: HashKind::Vpdq,
                    distance: worst,
                    variant: None,
                    matched_percent: Some(pct),
                    listed: None,
                })
            })
            .collect();
        hits.sort_by(|a, b| {
            b.matched_percent
                .partial_cmp(&a.matched_percent)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.item_id.cmp(&b.item_id))
        });
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EdgeCutValue, FrameValue, PdqValue};

    fn h(bits: &[usize]) -> Hash {
        let mut x = [0u8; 32];
        for &b in bits {
            x[31 - b / 8] |= 1 << (b % 8);
        }
        x
    }

    fn image(id: i64, hash: Hash, quality: u8) -> Entry {
        Entry {
            item_id: id,
            seq: id,
            kind: ItemKind::Image,
            md5: [id as u8; 16],
            sha256: [id as u8; 32],
            pdq: Some(PdqValue { hash, quality }),
            frames: vec![],
            edge_cuts: vec![],
        }
    }

    fn with_cuts(mut e: Entry, cuts: &[(CutEdge, Hash, u8)]) -> Entry {
        e.edge_cuts = cuts
            .iter()
            .map(|&(edge, hash, quality)| EdgeCutValue {
                edge,
                percent: p::EDGE_CUT_PERCENT,
                pdq: PdqValue { hash, quality },
            })
            .collect();
        e
    }

    /// A small xorshift generator (the tests below are seeded properties).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn hash(&mut self) -> Hash {
            let mut x = [0u8; 32];
            for c in x.chunks_mut(8) {
                c.copy_from_slice(&self.next().to_le_bytes());
            }
            x
        }
    }

    fn flip(h: &Hash, bits: &[usize]) -> Hash {
        let mut x = *h;
        for &b in bits {
            x[31 - b / 8] ^= 1 << (b % 8);
        }
        x
    }

    #[test]
    fn a_cut_key_maps_back_to_its_item_and_edge() {
        for id in [1, 2, 77, super::super::sync::MAX_ITEM_ID] {
            for edge in CutEdge::ALL {
                assert_eq!(key_of(cut_key(id, edge)), Key::Cut(id, edge));
            }
            assert_eq!(key_of(frame_key(id, 0)), Key::Frame(id));
            assert_eq!(
                key_of(frame_key(id, p::MAX_FRAMES_PER_VIDEO - 1)),
                Key::Frame(id)
            );
            assert_eq!(key_of(id as u64), Key::Picture(id));
        }
        assert_eq!(listed_name(CutEdge::Top), "cut-top-20");
        assert_eq!(listed_name(CutEdge::Bottom), "cut-bottom-20");
    }

    #[test]
    fn a_cut_hit_is_a_hit_on_the_item_once_with_the_best_distance() {
        let mut r = Rng(7);
        let (pic, top, bottom) = (r.hash(), r.hash(), r.hash());
        let mut m = Matcher::new();
        m.upsert(&with_cuts(
            image(5, pic, 90),
            &[(CutEdge::Top, top, 80), (CutEdge::Bottom, bottom, 40)],
        ));
        // The weak bottom cut is not indexed.
        assert_eq!(m.indexed_hashes(), 2);
        let hits = m.match_pdq(&q(flip(&top, &[1, 2, 3]), 90));
        assert_eq!(hits.len(), 1);
        assert_eq!(
            (hits[0].item_id, hits[0].distance, hits[0].listed.as_deref()),
            (5, 3, Some("cut-top-20"))
        );
        assert!(m.match_pdq(&q(bottom, 90)).is_empty());
        // Two variants: one near the picture, one nearer the cut: one hit, the cut.
        let both = vec![
            QueryPdq {
                variant: "original".into(),
                hash: flip(&pic, &[1, 2, 3, 4]),
                quality: 90,
            },
            QueryPdq {
                variant: "bar-cut-20".into(),
                hash: flip(&top, &[9]),
                quality: 90,
            },
        ];
        let hits = m.match_pdq(&both);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            (
                hits[0].distance,
                hits[0].variant.as_deref(),
                hits[0].listed.as_deref()
            ),
            (1, Some("bar-cut-20"), Some("cut-top-20"))
        );
        let json = serde_json::to_value(&hits[0]).unwrap();
        assert_eq!(json["listed"], "cut-top-20");
        let hits = m.match_pdq(&q(pic, 90));
        assert_eq!(hits[0].listed.as_deref(), Some("picture"));
        // Exact hits name no listed PDQ.
        let exact = serde_json::to_value(&m.match_exact(&[5; 16], &[0; 32])[0]).unwrap();
        assert!(exact.get("listed").is_none());
        // A replacement without cuts drops the cut keys; a video never has any.
        m.upsert(&image(5, pic, 90));
        assert!(m.match_pdq(&q(top, 90)).is_empty());
        assert_eq!(m.indexed_hashes(), 1);
        let mut video = with_cuts(image(6, r.hash(), 90), &[(CutEdge::Top, top, 90)]);
        video.kind = ItemKind::Video;
        video.pdq = None;
        m.upsert(&video);
        assert!(m.match_pdq(&q(top, 90)).is_empty());
    }

    #[test]
    fn a_saved_matcher_of_the_format_before_cuts_is_rebuilt_not_read() {
        let mut r = Rng(3);
        let mut m = Matcher::new();
        m.upsert(&with_cuts(
            image(1, r.hash(), 90),
            &[(CutEdge::Top, r.hash(), 90)],
        ));
        m.position = Some(Position {
            cursor: 1,
            applied: 1,
        });
        let mut bytes = snapshot::encode(&m).unwrap();
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SNAPSHOT_FILE);
        snapshot::write_atomically(&path, &bytes).unwrap();
        assert_eq!(
            snapshot::load(&path).err().as_deref(),
            Some("saved matcher has version 1")
        );
        // A cut mask with an unknown edge bit is damage, not a guess.
        let mut bytes = snapshot::encode(&m).unwrap();
        // Header 36 bytes, then item id (8), kind (1), in_index (1), cut edges.
        assert_eq!(bytes[36 + 10], 1 << CutEdge::Top.code());
        bytes[36 + 10] |= 1 << 5;
        snapshot::write_atomically(&path, &bytes).unwrap();
        assert!(snapshot::load(&path).is_err());
    }

    /// Random upserts (pictures with and without cuts) and withdrawals: every
    /// listed hash of an item on the list matches that item (its own PDQ as
    /// `picture`, each cut as its cut), hashes of withdrawn or replaced entries
    /// match nothing, the index
    /// holds exactly the listed hashes of quality ≥ 50, and the saved form loads
    /// into a matcher that answers the same.
    #[test]
    fn cut_keys_follow_upserts_withdrawals_and_the_saved_form() {
        for seed in 1..=20u64 {
            let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut m = Matcher::new();
            let mut model: HashMap<i64, Entry> = HashMap::new();
            let mut gone: Vec<Entry> = Vec::new();
            for _ in 0..60 {
                let id = (r.next() % 25) as i64 + 1;
                if r.next().is_multiple_of(4) {
                    m.remove(id);
                    if let Some(e) = model.remove(&id) {
                        gone.push(e);
                    }
                    continue;
                }
                let mut cuts = Vec::new();
                for edge in CutEdge::ALL {
                    if !r.next().is_multiple_of(3) {
                        cuts.push((edge, r.hash(), 30 + (r.next() % 70) as u8));
                    }
                }
                let e = with_cuts(image(id, r.hash(), 90), &cuts);
                m.upsert(&e);
                gone.extend(model.insert(id, e));
            }
            let expect_keys: usize = model
                .values()
                .map(|e| 1 + e.edge_cuts.iter().filter(|c| c.pdq.quality >= 50).count())
                .sum();
            assert_eq!(m.indexed_hashes(), expect_keys, "seed {seed}");
            m.position = Some(Position {
                cursor: 9,
                applied: 9,
            });
            let bytes = snapshot::encode(&m).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(SNAPSHOT_FILE);
            snapshot::write_atomically(&path, &bytes).unwrap();
            let loaded = snapshot::load(&path).unwrap();
            assert_eq!(loaded.indexed_hashes(), expect_keys);
            for mm in [&m, &loaded] {
                for e in model.values() {
                    let mut listed = vec![(e.pdq.unwrap().hash, "picture".to_string())];
                    for c in e.edge_cuts.iter().filter(|c| c.pdq.quality >= 50) {
                        listed.push((c.pdq.hash, listed_name(c.edge)));
                    }
                    for (hash, name) in listed {
                        let hits = mm.match_pdq(&q(hash, 90));
                        assert_eq!(hits.len(), 1, "seed {seed}: random hashes are far apart");
                        assert_eq!(hits[0].item_id, e.item_id);
                        assert_eq!(hits[0].listed.as_deref(), Some(name.as_str()));
                    }
                }
                // Withdrawn or replaced: none of its hashes is listed any more.
                for e in &gone {
                    let mut all = vec![e.pdq.unwrap().hash];
                    all.extend(e.edge_cuts.iter().map(|c| c.pdq.hash));
                    for hash in all {
                        assert!(mm.match_pdq(&q(hash, 90)).is_empty(), "seed {seed}");
                    }
                }
            }
        }
    }

    fn q(hash: Hash, quality: u8) -> Vec<QueryPdq> {
        vec![QueryPdq {
            variant: "original".into(),
            hash,
            quality,
        }]
    }

    #[test]
    fn pdq_rule_is_distance_31_and_quality_50_on_both_sides() {
        let mut m = Matcher::new();
        m.upsert(&image(1, h(&[]), 90));
        m.upsert(&image(2, h(&[]), 49)); // too weak to be indexed
        let at31: Vec<usize> = (0..31).collect();
        let at32: Vec<usize> = (0..32).collect();
        let hits = m.match_pdq(&q(h(&at31), 60));
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].item_id, hits[0].distance), (1, 31));
        assert!(m.match_pdq(&q(h(&at32), 60)).is_empty());
        assert!(m.match_pdq(&q(h(&[]), 49)).is_empty());
        // Exact hashes still find the weak one.
        assert_eq!(m.match_exact(&[2; 16], &[0; 32])[0].item_id, 2);
        // Withdrawal removes every trace.
        m.remove(1);
        assert!(m.match_pdq(&q(h(&[]), 90)).is_empty());
        assert!(m.match_exact(&[1; 16], &[1; 32]).is_empty());
    }

    #[test]
    fn vpdq_needs_80_percent_of_the_query_frames_of_one_item() {
        let frames = |hs: &[Hash]| -> Vec<FrameValue> {
            hs.iter()
                .enumerate()
                .map(|(i, &hash)| FrameValue {
                    t: i as f64,
                    pdq: PdqValue { hash, quality: 90 },
                })
                .collect()
        };
        let f: Vec<Hash> = (0..5)
            .map(|i| h(&(i * 50..i * 50 + 40).collect::<Vec<_>>()))
            .collect();
        let mut m = Matcher::new();
        m.upsert(&Entry {
            item_id: 7,
            seq: 1,
            kind: ItemKind::Video,
            md5: [0; 16],
            sha256: [0; 32],
            pdq: None,
            frames: frames(&f[..4]),
            edge_cuts: vec![],
        });
        // A picture with the first frame's hash is not a video match, and vice versa.
        m.upsert(&image(8, f[0], 90));
        let all: Vec<(Hash, u8)> = f.iter().map(|&x| (x, 90)).collect();
        // 4 of 5 query frames match: 80 %.
        let hits = m.match_frames(&all);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].item_id, hits[0].hash), (7, HashKind::Vpdq));
        assert_eq!(hits[0].matched_percent, Some(80.0));
        // 4 of 6 do not (66 %).
        let mut six = all.clone();
        six.push((h(&(0..128).collect::<Vec<_>>()), 90));
        assert!(m.match_frames(&six).is_empty());
        // Low-quality query frames do not count.
        six.last_mut().unwrap().1 = 10;
        assert_eq!(m.match_frames(&six).len(), 1);
        let pic = m.match_pdq(&q(f[0], 90));
        assert_eq!(pic.iter().map(|h| h.item_id).collect::<Vec<_>>(), vec![8]);
        m.remove(7);
        assert!(m.match_frames(&all).is_empty());
        assert_eq!(m.indexed_hashes(), 1);
    }
}
