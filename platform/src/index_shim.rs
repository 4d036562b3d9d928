//! A linear-scan PDQ index with the API of `takedown-pdq-index`.
//!
//! This stands in for the real index while both are built in parallel; it is
//! replaced at merge by `takedown_pdq_index` (same API). Everything in this
//! crate reaches it only through `crate::index`.

use std::collections::HashMap;
use std::io::{Read, Write};

/// A 256-bit PDQ hash as raw bytes (big-endian, as in its hex form).
pub type Hash = [u8; 32];

/// One stored hash within the search radius.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    /// The id it was inserted with.
    pub id: u64,
    /// Hamming distance to the query.
    pub distance: u32,
}

/// PDQ hashes by id; search returns every stored hash within a radius.
#[derive(Clone, Debug, Default)]
pub struct PdqIndex {
    ids: Vec<u64>,
    words: Vec<[u64; 4]>,
    pos: HashMap<u64, usize>,
}

const MAGIC: &[u8; 8] = b"TDPDQLS1";

fn words(h: &Hash) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (i, c) in h.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        w[i] = u64::from_be_bytes(b);
    }
    w
}

fn to_hash(w: &[u64; 4]) -> Hash {
    let mut h = [0u8; 32];
    for (i, x) in w.iter().enumerate() {
        h[i * 8..i * 8 + 8].copy_from_slice(&x.to_be_bytes());
    }
    h
}

impl PdqIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index with room for `n` hashes.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            ids: Vec::with_capacity(n),
            words: Vec::with_capacity(n),
            pos: HashMap::with_capacity(n),
        }
    }

    /// Inserts (or replaces) the hash stored under `id`.
    pub fn insert(&mut self, id: u64, hash: &Hash) {
        let w = words(hash);
        match self.pos.get(&id) {
            Some(&i) => self.words[i] = w,
            None => {
                self.pos.insert(id, self.ids.len());
                self.ids.push(id);
                self.words.push(w);
            }
        }
    }

    /// Removes the hash stored under `id`; `false` when there was none.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(i) = self.pos.remove(&id) else {
            return false;
        };
        self.ids.swap_remove(i);
        self.words.swap_remove(i);
        if let Some(&moved) = self.ids.get(i) {
            self.pos.insert(moved, i);
        }
        true
    }

    /// Number of stored hashes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Every stored hash within `radius` of `query`, sorted by (distance, id).
    pub fn search(&self, query: &Hash, radius: u32) -> Vec<Match> {
        let q = words(query);
        let mut out: Vec<Match> = self
            .words
            .iter()
            .zip(&self.ids)
            .filter_map(|(w, &id)| {
                let d: u32 = (0..4).map(|i| (w[i] ^ q[i]).count_ones()).sum();
                (d <= radius).then_some(Match { id, distance: d })
            })
            .collect();
        out.sort_unstable_by_key(|m| (m.distance, m.id));
        out
    }

    /// Writes the index (a header, then id and hash per entry).
    pub fn save_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(MAGIC)?;
        w.write_all(&(self.ids.len() as u64).to_le_bytes())?;
        for (id, h) in self.ids.iter().zip(&self.words) {
            w.write_all(&id.to_le_bytes())?;
            w.write_all(&to_hash(h))?;
        }
        Ok(())
    }

    /// Reads an index written by [`PdqIndex::save_to`].
    pub fn load_from(r: &mut impl Read) -> std::io::Result<Self> {
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a PDQ index file");
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(bad());
        }
        let mut n = [0u8; 8];
        r.read_exact(&mut n)?;
        let n = u64::from_le_bytes(n);
        let n = usize::try_from(n).map_err(|_| bad())?;
        let mut idx = Self::with_capacity(n.min(1 << 24));
        let mut rec = [0u8; 40];
        for _ in 0..n {
            r.read_exact(&mut rec)?;
            let mut id = [0u8; 8];
            id.copy_from_slice(&rec[..8]);
            let mut h = [0u8; 32];
            h.copy_from_slice(&rec[8..]);
            idx.insert(u64::from_le_bytes(id), &h);
        }
        Ok(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_search_remove_save_load() {
        let mut idx = PdqIndex::new();
        let a = [0u8; 32];
        let mut b = [0u8; 32];
        b[0] = 0xff; // 8 bits away
        let mut c = [0xffu8; 32];
        c[31] = 0; // far away
        idx.insert(1, &a);
        idx.insert(2, &b);
        idx.insert(3, &c);
        assert_eq!(
            idx.search(&a, 31),
            vec![Match { id: 1, distance: 0 }, Match { id: 2, distance: 8 }]
        );
        assert!(idx.remove(1));
        assert!(!idx.remove(1));
        let mut buf = Vec::new();
        idx.save_to(&mut buf).unwrap();
        let back = PdqIndex::load_from(&mut buf.as_slice()).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back.search(&a, 31), vec![Match { id: 2, distance: 8 }]);
        assert!(PdqIndex::load_from(&mut &b"garbage!"[..]).is_err());
    }
}
