//! The index must answer exactly what a linear scan answers: on uniform hashes, on
//! near-duplicate families (as real lists have), through inserts, deletes, replacements,
//! merges, compaction, and a save/load round trip.

use proptest::prelude::*;
use takedown_pdq_index::{Hash, Match, PdqIndex, brute_force};

/// A tiny deterministic generator so the large fixed tests need no extra crate.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn hash(&mut self) -> Hash {
        let mut h = [0u8; 32];
        for c in h.chunks_exact_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        h
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `h` with `flips` distinct random bits flipped.
    fn flip(&mut self, h: &Hash, flips: u32) -> Hash {
        let mut out = *h;
        let mut done = 0;
        while done < flips {
            let bit = self.below(256) as usize;
            let mask = 1u8 << (bit % 8);
            if (out[bit / 8] ^ h[bit / 8]) & mask == 0 {
                out[bit / 8] ^= mask;
                done += 1;
            }
        }
        out
    }
}

/// Half uniform hashes, half families (a root plus copies 0–40 bits away).
fn mixed_set(rng: &mut SplitMix, n: usize) -> Vec<(u64, Hash)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n / 2 {
        let id = out.len() as u64;
        out.push((id, rng.hash()));
    }
    while out.len() < n {
        let root = rng.hash();
        let size = 1 + rng.below(40) as usize;
        for _ in 0..size.min(n - out.len()) {
            let flips = rng.below(41) as u32;
            let id = out.len() as u64;
            out.push((id, rng.flip(&root, flips)));
        }
    }
    out
}

fn check(index: &PdqIndex, stored: &[(u64, Hash)], query: &Hash, radius: u32) {
    let expect = brute_force(stored, query, radius);
    assert_eq!(index.search(query, radius), expect, "radius {radius}");
    assert_eq!(
        index.search_multi_index_only(query, radius),
        expect,
        "radius {radius} (forced)"
    );
}

/// Queries near stored hashes (so there are hits at every distance) and random ones.
fn queries(rng: &mut SplitMix, stored: &[(u64, Hash)], n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 && !stored.is_empty() {
                let (_, h) = stored[rng.below(stored.len() as u64) as usize];
                let flips = rng.below(40) as u32;
                rng.flip(&h, flips)
            } else {
                rng.hash()
            }
        })
        .collect()
}

#[test]
fn large_mixed_set_matches_brute_force_at_every_radius_that_matters() {
    let mut rng = SplitMix(7);
    let stored = mixed_set(&mut rng, 40_000);
    let index = PdqIndex::from_entries(stored.iter().copied());
    assert_eq!(index.len(), stored.len());
    let qs = queries(&mut rng, &stored, 60);
    let mut hits = 0;
    for q in &qs {
        for radius in [0, 1, 2, 10, 31, 32, 40] {
            let expect = brute_force(&stored, q, radius);
            hits += expect.len();
            assert_eq!(index.search(q, radius), expect, "radius {radius}");
        }
    }
    assert!(hits > 100, "the queries must produce hits ({hits})");
    // The radius-31 path on the big segment is the multi-index one.
    for q in &qs[..4] {
        assert_eq!(
            index.search_multi_index_only(q, 31),
            brute_force(&stored, q, 31)
        );
    }
}

#[test]
fn radius_256_returns_everything_sorted() {
    let mut rng = SplitMix(3);
    let stored = mixed_set(&mut rng, 500);
    let index = PdqIndex::from_entries(stored.iter().copied());
    let q = rng.hash();
    let all = index.search(&q, 256);
    assert_eq!(all.len(), 500);
    assert_eq!(all, brute_force(&stored, &q, 256));
    assert_eq!(index.search_multi_index_only(&q, 256), all);
    assert_eq!(index.search(&q, u32::MAX), all);
}

#[test]
fn empty_index_finds_nothing() {
    let index = PdqIndex::new();
    assert!(index.is_empty());
    assert_eq!(index.len(), 0);
    assert_eq!(index.search(&[0u8; 32], 256), Vec::<Match>::new());
    let mut index = PdqIndex::from_entries(Vec::new());
    assert!(index.is_empty());
    assert!(!index.remove(5));
    index.compact();
    assert!(index.search(&[0xffu8; 32], 31).is_empty());
}

#[test]
fn duplicate_hashes_under_different_ids_are_all_reported() {
    let mut rng = SplitMix(11);
    let h = rng.hash();
    let mut index = PdqIndex::new();
    index.set_delta_capacity(2);
    for id in [9u64, 3, 7, 1] {
        index.insert(id, &h);
    }
    let ids: Vec<u64> = index.search(&h, 0).iter().map(|m| m.id).collect();
    assert_eq!(ids, [1, 3, 7, 9]);
    assert_eq!(index.search_multi_index_only(&h, 0).len(), 4);
}

#[test]
fn reinserting_a_removed_id_and_replacing_work() {
    let mut rng = SplitMix(5);
    let (a, b) = (rng.hash(), rng.hash());
    let mut index = PdqIndex::from_entries([(1u64, a), (2, b)]);
    assert!(index.remove(1));
    assert!(!index.remove(1));
    assert!(index.search(&a, 0).is_empty());
    index.insert(1, &a);
    assert_eq!(index.search(&a, 0), [Match { id: 1, distance: 0 }]);
    // Replacing moves the id: the old hash no longer finds it.
    index.insert(1, &b);
    assert!(index.search(&a, 0).is_empty());
    assert_eq!(index.len(), 2);
    assert_eq!(index.get(1), Some(b));
    let ids: Vec<u64> = index.search(&b, 0).iter().map(|m| m.id).collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn from_entries_keeps_the_last_pair_for_an_id() {
    let mut rng = SplitMix(8);
    let (a, b) = (rng.hash(), rng.hash());
    let index = PdqIndex::from_entries([(4u64, a), (5, a), (4, b)]);
    assert_eq!(index.len(), 2);
    assert_eq!(index.get(4), Some(b));
    assert_eq!(index.search(&a, 0), [Match { id: 5, distance: 0 }]);
}

#[test]
fn many_single_inserts_merge_into_few_segments_and_stay_exact() {
    let mut rng = SplitMix(21);
    let stored = mixed_set(&mut rng, 30_000);
    let mut index = PdqIndex::with_capacity(stored.len());
    index.set_delta_capacity(500);
    for (id, h) in &stored {
        index.insert(*id, h);
    }
    assert_eq!(index.len(), stored.len());
    assert!(
        index.segment_count() <= 8,
        "{} segments",
        index.segment_count()
    );
    // Delete a third, then check.
    let mut live = Vec::new();
    for (i, (id, h)) in stored.iter().enumerate() {
        if i % 3 == 0 {
            assert!(index.remove(*id));
        } else {
            live.push((*id, *h));
        }
    }
    assert_eq!(index.len(), live.len());
    for q in queries(&mut rng, &live, 30) {
        assert_eq!(index.search(&q, 31), brute_force(&live, &q, 31));
    }
    index.compact();
    assert_eq!(index.segment_count(), 1);
    for q in queries(&mut rng, &live, 10) {
        assert_eq!(index.search(&q, 31), brute_force(&live, &q, 31));
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u64, usize),
    Remove(u64),
    Compact,
    Flush(usize),
}

fn hash_strategy() -> impl Strategy<Value = Hash> {
    prop::array::uniform32(any::<u8>())
}

/// A family: a root and copies with 0–40 distinct bits flipped.
fn family_strategy() -> impl Strategy<Value = Vec<Hash>> {
    (
        hash_strategy(),
        prop::collection::vec(prop::collection::btree_set(0usize..256, 0..=40), 1..12),
    )
        .prop_map(|(root, flips)| {
            flips
                .into_iter()
                .map(|bits| {
                    let mut h = root;
                    for b in bits {
                        h[b / 8] ^= 1 << (b % 8);
                    }
                    h
                })
                .collect()
        })
}

fn pool_strategy() -> impl Strategy<Value = Vec<Hash>> {
    (
        prop::collection::vec(hash_strategy(), 1..40),
        prop::collection::vec(family_strategy(), 1..8),
    )
        .prop_map(|(mut uniform, families)| {
            uniform.extend(families.into_iter().flatten());
            uniform
        })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u64..60, any::<prop::sample::Index>()).prop_map(|(id, i)| Op::Insert(id, i.index(1 << 20))),
        3 => (0u64..60).prop_map(Op::Remove),
        1 => Just(Op::Compact),
        1 => (1usize..20).prop_map(Op::Flush),
    ]
}

/// Query pool: stored hashes with a few flips plus random ones.
fn query_strategy() -> impl Strategy<Value = Vec<(usize, Vec<usize>, Hash)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            prop::collection::vec(0usize..256, 0..36),
            hash_strategy(),
        ),
        1..6,
    )
}

fn apply_queries(pool: &[Hash], qs: &[(usize, Vec<usize>, Hash)]) -> Vec<Hash> {
    let mut out = Vec::new();
    for (pick, flips, random) in qs {
        let mut q = pool[pick % pool.len()];
        for b in flips {
            q[b / 8] ^= 1 << (b % 8);
        }
        out.push(q);
        out.push(*random);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Bulk-built index, uniform and clustered hashes, many radii.
    #[test]
    fn bulk_index_equals_brute_force(pool in pool_strategy(), qs in query_strategy(), radius in 0u32..=64) {
        let stored: Vec<(u64, Hash)> = pool.iter().enumerate().map(|(i, h)| (i as u64 * 3 + 1, *h)).collect();
        let index = PdqIndex::from_entries(stored.iter().copied());
        for q in apply_queries(&pool, &qs) {
            check(&index, &stored, &q, radius);
            check(&index, &stored, &q, 31);
            check(&index, &stored, &q, 0);
        }
    }

    /// Interleaved inserts, deletes, replacements, flushes and compaction, then a save/load
    /// round trip: the answers always equal a scan over what is currently stored.
    #[test]
    fn dynamic_index_equals_brute_force(
        pool in pool_strategy(),
        ops in prop::collection::vec(op_strategy(), 1..120),
        qs in query_strategy(),
        radius in prop_oneof![Just(31u32), 0u32..=48],
    ) {
        let mut index = PdqIndex::new();
        index.set_delta_capacity(3);
        let mut model: std::collections::BTreeMap<u64, Hash> = Default::default();
        for op in &ops {
            match *op {
                Op::Insert(id, i) => {
                    let h = pool[i % pool.len()];
                    index.insert(id, &h);
                    model.insert(id, h);
                }
                Op::Remove(id) => {
                    prop_assert_eq!(index.remove(id), model.remove(&id).is_some());
                }
                Op::Compact => index.compact(),
                Op::Flush(n) => index.set_delta_capacity(n),
            }
            prop_assert_eq!(index.len(), model.len());
        }
        let stored: Vec<(u64, Hash)> = model.iter().map(|(k, v)| (*k, *v)).collect();
        let queries = apply_queries(&pool, &qs);
        for q in &queries {
            check(&index, &stored, q, radius);
        }
        for (id, h) in &stored {
            prop_assert_eq!(index.get(*id), Some(*h));
        }

        let mut bytes = Vec::new();
        index.save_to(&mut bytes).expect("save to memory");
        let loaded = PdqIndex::load_from(&mut bytes.as_slice()).expect("load what was saved");
        prop_assert_eq!(loaded.len(), stored.len());
        for q in &queries {
            check(&loaded, &stored, q, radius);
        }
        // A loaded index keeps working as a dynamic one.
        let mut loaded = loaded;
        if let Some((id, _)) = stored.first() {
            prop_assert!(loaded.remove(*id));
            prop_assert!(!loaded.contains(*id));
        }
    }
}

/// `entries()` is exactly what is stored (after inserts, replacements, deletes and
/// merges), and an index rebuilt from it answers like the original: what the
/// sidecar's background compaction relies on.
#[test]
fn entries_rebuild_an_equivalent_index_and_dead_rows_are_counted() {
    let mut rng = SplitMix(31);
    let mut index = PdqIndex::new();
    index.set_delta_capacity(64);
    let mut stored: std::collections::BTreeMap<u64, Hash> = Default::default();
    for i in 0..3000u64 {
        let id = rng.below(1500);
        match i % 5 {
            0 => {
                index.remove(id);
                stored.remove(&id);
            }
            _ => {
                let h = rng.hash();
                index.insert(id, &h);
                stored.insert(id, h);
            }
        }
    }
    let mut got = index.entries();
    got.sort_unstable_by_key(|e| e.0);
    let want: Vec<(u64, Hash)> = stored.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(got, want);
    let (rows, delta) = index.shape();
    assert_eq!(
        index.dead_rows(),
        rows.iter().sum::<usize>() + delta - index.len()
    );
    let rebuilt = PdqIndex::from_entries(index.entries());
    assert_eq!(rebuilt.dead_rows(), 0);
    assert_eq!(rebuilt.segment_count(), 1);
    for _ in 0..50 {
        let q = rng.hash();
        assert_eq!(rebuilt.search(&q, 31), index.search(&q, 31));
        assert_eq!(rebuilt.search(&q, 120), index.search(&q, 120));
    }
    let mut compacted = index.clone();
    compacted.compact();
    assert_eq!(compacted.dead_rows(), 0);
}
