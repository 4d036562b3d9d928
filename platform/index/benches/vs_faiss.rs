//! The Rust side of `scripts/bench-index.sh`: loads the hashes and queries the Python side
//! wrote, builds the index, runs the queries on 1 and 2 threads, measures memory, insert and
//! delete latency and a save/load round trip, writes every result set for the Python side to
//! compare with FAISS, and prints one JSON object of figures on stdout.
//!
//! ```text
//! cargo bench -p takedown-pdq-index --bench vs_faiss -- DATA RESULTS [RADIUS] [MIN_SECONDS]
//! ```
//! DATA: "PDQBENCH" | n u64 | queries u64 | n × (id u64, hash 32 bytes) | queries × 32 bytes.
//! RESULTS: per query, count u32 then count × (id u64, distance u32), little-endian.
#![allow(unsafe_code)] // the counting global allocator below

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufWriter, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use takedown_pdq_index::{Hash, Match, PdqIndex};

/// Counts live and peak heap bytes, so memory per hash is measured, not estimated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
            let now = LIVE.fetch_add(new, Ordering::Relaxed) + new;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Resident set size in bytes (Linux), 0 elsewhere.
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// Stored (id, hash) pairs and the queries.
type BenchData = (Vec<(u64, Hash)>, Vec<Hash>);

fn read_data(path: &str) -> std::io::Result<BenchData> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad bench data file");
    if bytes.len() < 24 || &bytes[..8] != b"PDQBENCH" {
        return Err(bad());
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(b) as usize
    };
    let (n, nq) = (word(8), word(16));
    if bytes.len() != 24 + n * 40 + nq * 32 {
        return Err(bad());
    }
    let mut stored = Vec::with_capacity(n);
    for rec in bytes[24..24 + n * 40].chunks_exact(40) {
        let mut id = [0u8; 8];
        id.copy_from_slice(&rec[..8]);
        let mut h = [0u8; 32];
        h.copy_from_slice(&rec[8..]);
        stored.push((u64::from_le_bytes(id), h));
    }
    let queries = bytes[24 + n * 40..]
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect();
    Ok((stored, queries))
}

/// Queries per second on `threads` threads, repeating the query set until `min` has passed.
fn rate(index: &PdqIndex, queries: &[Hash], radius: u32, threads: usize, min: Duration) -> f64 {
    let start = Instant::now();
    let mut done = 0usize;
    loop {
        let r = index.search_batch(queries, radius, threads);
        done += r.len();
        std::hint::black_box(r);
        if start.elapsed() >= min {
            break;
        }
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// (mean, p50, p99, max) in microseconds.
fn summary(mut us: Vec<f64>) -> (f64, f64, f64, f64) {
    us.sort_by(f64::total_cmp);
    let mean = us.iter().sum::<f64>() / us.len().max(1) as f64;
    let at = |q: f64| {
        us.get(((us.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    (mean, at(0.5), at(0.99), at(1.0))
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (Some(data), Some(results)) = (args.first(), args.get(1)) else {
        eprintln!("usage: vs_faiss DATA RESULTS [RADIUS] [MIN_SECONDS]");
        return Ok(());
    };
    let radius: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(31);
    let min = Duration::from_secs_f64(args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2.0));
    let (stored, queries) = read_data(data)?;
    let n = stored.len();

    // Build.
    let (live0, rss0) = (LIVE.load(Ordering::Relaxed), rss());
    PEAK.store(live0, Ordering::Relaxed);
    let t = Instant::now();
    let index = PdqIndex::from_entries(stored.iter().copied());
    let build_s = t.elapsed().as_secs_f64();
    let index_bytes = LIVE.load(Ordering::Relaxed) - live0;
    let build_peak = PEAK.load(Ordering::Relaxed) - live0;
    let rss_build = rss().saturating_sub(rss0);
    assert_eq!(index.len(), n);

    // Results for the Python side to check against FAISS.
    let answers: Vec<Vec<Match>> = index.search_batch(&queries, radius, 2);
    let mut w = BufWriter::new(std::fs::File::create(results)?);
    for a in &answers {
        w.write_all(&(a.len() as u32).to_le_bytes())?;
        for m in a {
            w.write_all(&m.id.to_le_bytes())?;
            w.write_all(&m.distance.to_le_bytes())?;
        }
    }
    w.flush()?;
    let hits: usize = answers.iter().map(Vec::len).sum();

    let qps1 = rate(&index, &queries, radius, 1, min);
    let qps2 = rate(&index, &queries, radius, 2, min);

    // Save and load.
    let path = format!("{results}.index");
    let t = Instant::now();
    {
        let mut f = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        index.save_to(&mut f)?;
    }
    let save_s = t.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(&path)?.len();
    let before_load = LIVE.load(Ordering::Relaxed);
    let t = Instant::now();
    let loaded = PdqIndex::load_from(&mut std::fs::File::open(&path)?)?;
    let load_s = t.elapsed().as_secs_f64();
    let loaded_bytes = LIVE.load(Ordering::Relaxed) - before_load;
    std::fs::remove_file(&path)?;
    for (q, a) in queries.iter().zip(&answers).take(50) {
        assert_eq!(
            &loaded.search(q, radius),
            a,
            "loaded index answers differently"
        );
    }
    drop(loaded);

    // Insert and delete latency on the full index: remove existing ids, put them back, and
    // add new ones; every op timed on its own (flushes and merges included, as they happen).
    let mut index = index;
    let ops = 20_000.min(n);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut pick = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let victims: Vec<usize> = (0..ops).map(|_| pick()).collect();
    let mut remove_us = Vec::with_capacity(ops);
    let mut removed = Vec::with_capacity(ops);
    for &v in &victims {
        let (id, h) = stored[v];
        let t = Instant::now();
        let was = index.remove(id);
        remove_us.push(t.elapsed().as_secs_f64() * 1e6);
        if was {
            removed.push((id, h));
        }
    }
    let mut insert_us = Vec::with_capacity(2 * ops);
    for (id, h) in &removed {
        let t = Instant::now();
        index.insert(*id, h);
        insert_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    for i in 0..ops {
        let (_, mut h) = stored[pick()];
        h[i % 32] ^= 0x5a;
        let t = Instant::now();
        index.insert(u64::MAX - i as u64, &h);
        insert_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    assert_eq!(index.len(), n + ops);
    let qps1_after = rate(&index, &queries, radius, 1, min);
    let segments_after = index.segment_count();
    let (rm_mean, rm_p50, rm_p99, rm_max) = summary(remove_us);
    let (in_mean, in_p50, in_p99, in_max) = summary(insert_us);

    println!(
        "{{\"n\":{n},\"queries\":{nq},\"hits\":{hits},\"radius\":{radius},\
\"build_s\":{build_s:.3},\"index_bytes\":{index_bytes},\"bytes_per_hash\":{bph:.2},\
\"build_peak_bytes_per_hash\":{peak:.2},\"rss_build_bytes_per_hash\":{rssb:.2},\
\"qps_1t\":{qps1:.1},\"qps_2t\":{qps2:.1},\"qps_1t_after_writes\":{qps1_after:.1},\
\"segments_after_writes\":{segments_after},\
\"save_s\":{save_s:.3},\"load_s\":{load_s:.3},\"file_bytes\":{file_bytes},\
\"loaded_bytes_per_hash\":{lbph:.2},\
\"remove_us\":{{\"mean\":{rm_mean:.2},\"p50\":{rm_p50:.2},\"p99\":{rm_p99:.2},\"max\":{rm_max:.1}}},\
\"insert_us\":{{\"mean\":{in_mean:.2},\"p50\":{in_p50:.2},\"p99\":{in_p99:.2},\"max\":{in_max:.1}}}}}",
        nq = queries.len(),
        bph = index_bytes as f64 / n as f64,
        peak = build_peak as f64 / n as f64,
        rssb = rss_build as f64 / n as f64,
        lbph = loaded_bytes as f64 / n as f64,
    );
    Ok(())
}
