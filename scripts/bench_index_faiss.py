#!/usr/bin/env python3
"""PDQ range search: takedown-pdq-index against FAISS, same data, one run, one table.

Run through scripts/bench-index.sh. For each size it
  1. makes the stored hashes from a seed (half uniform, half near-duplicate families: a
     random root plus copies with up to 40 bits flipped) and the queries (half a stored hash
     with 0-36 bits flipped, half random), and writes them to a temporary file;
  2. builds FAISS IndexBinaryFlat and IndexBinaryMultiHash(256, 16, 16) with nflip = 1 (what
     HMA uses) on one OpenMP thread and times build, memory and range search at the radius;
  3. runs the Rust bench binary on the same file (1 and 2 threads);
  4. checks that all three return exactly the same (id, distance) set for every query;
  5. prints one Markdown table with the ratios.
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def flip(rng, hashes, max_flips, chunk=1 << 19):
    """Each row with 0..max_flips random bits flipped (positions drawn with replacement)."""
    out = hashes.copy()
    for s in range(0, len(out), chunk):
        part = out[s : s + chunk]
        c = len(part)
        k = rng.integers(0, max_flips + 1, size=c)
        pos = rng.integers(0, 256, size=(c, max_flips))
        valid = np.arange(max_flips)[None, :] < k[:, None]
        bits = np.zeros((c, 256), dtype=bool)
        rows = np.broadcast_to(np.arange(c)[:, None], pos.shape)
        bits[rows[valid], pos[valid]] = True
        part ^= np.packbits(bits, axis=1)
    return out


def make_data(n, nq, seed):
    rng = np.random.default_rng(seed)
    half = n // 2
    uniform = rng.integers(0, 256, size=(half, 32), dtype=np.uint8)
    rest = n - half
    # Families of 1-40 copies around random roots.
    sizes = []
    total = 0
    while total < rest:
        s = int(rng.integers(1, 41))
        s = min(s, rest - total)
        sizes.append(s)
        total += s
    roots = rng.integers(0, 256, size=(len(sizes), 32), dtype=np.uint8)
    members = np.repeat(roots, sizes, axis=0)
    members = flip(rng, members, 40)
    stored = np.concatenate([uniform, members])
    near = stored[rng.integers(0, n, size=nq // 2)]
    near = flip(rng, near, 36)
    far = rng.integers(0, 256, size=(nq - nq // 2, 32), dtype=np.uint8)
    queries = np.concatenate([near, far])
    queries = queries[rng.permutation(nq)]
    return np.ascontiguousarray(stored), np.ascontiguousarray(queries)


def write_data(path, stored, queries):
    n, nq = len(stored), len(queries)
    rec = np.zeros((n, 40), dtype=np.uint8)
    rec[:, :8] = np.arange(n, dtype="<u8").view(np.uint8).reshape(n, 8)
    rec[:, 8:] = stored
    with open(path, "wb") as f:
        f.write(b"PDQBENCH")
        f.write(np.array([n, nq], dtype="<u8").tobytes())
        f.write(rec.tobytes())
        f.write(queries.tobytes())


def faiss_run(faiss, kind, stored, queries, radius):
    gc.collect()
    before = rss()
    t = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexBinaryFlat(256)
    else:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = 1
    index.add(stored)
    build = time.perf_counter() - t
    mem = rss() - before
    t = time.perf_counter()
    # FAISS binary range search returns distances strictly below the radius given.
    lims, dist, ids = index.range_search(queries, radius + 1)
    secs = time.perf_counter() - t
    res = to_sets(lims, ids, dist)
    del index
    gc.collect()
    return {"build_s": build, "bytes_per_hash": mem / len(stored), "qps": len(queries) / secs}, res


def to_sets(lims, ids, dist):
    out = []
    for i in range(len(lims) - 1):
        a, b = lims[i], lims[i + 1]
        out.append(sorted(zip(ids[a:b].astype(np.int64).tolist(), dist[a:b].astype(np.int64).tolist())))
    return out


def read_ours(path, nq):
    data = open(path, "rb").read()
    out = []
    at = 0
    rec = np.dtype([("id", "<u8"), ("d", "<u4")])
    for _ in range(nq):
        (cnt,) = np.frombuffer(data, dtype="<u4", count=1, offset=at)
        at += 4
        arr = np.frombuffer(data, dtype=rec, count=int(cnt), offset=at)
        at += int(cnt) * 12
        out.append(sorted(zip(arr["id"].astype(np.int64).tolist(), arr["d"].astype(np.int64).tolist())))
    assert at == len(data), "trailing bytes in the results file"
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-bin", required=True)
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--queries", default="1000,400", help="query count per size")
    ap.add_argument("--radius", type=int, default=31)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--min-seconds", default="3")
    ap.add_argument("--json", help="also write all figures here")
    args = ap.parse_args()

    import faiss

    faiss.omp_set_num_threads(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    qcounts = [int(s) for s in args.queries.split(",")]
    qcounts += [qcounts[-1]] * (len(sizes) - len(qcounts))
    rows = []
    everything = []
    for n, nq in zip(sizes, qcounts):
        stored, queries = make_data(n, nq, args.seed + n)
        with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
            data = os.path.join(tmp, "data.bin")
            write_data(data, stored, queries)
            print(f"[{n:,} hashes, {nq} queries] FAISS IndexBinaryFlat ...", file=sys.stderr, flush=True)
            flat, flat_res = faiss_run(faiss, "flat", stored, queries, args.radius)
            print(f"[{n:,}] FAISS IndexBinaryMultiHash ...", file=sys.stderr, flush=True)
            mh, mh_res = faiss_run(faiss, "multihash", stored, queries, args.radius)
            del stored
            gc.collect()
            print(f"[{n:,}] takedown-pdq-index ...", file=sys.stderr, flush=True)
            res_path = os.path.join(tmp, "ours.bin")
            out = subprocess.run(
                [args.bench_bin, data, res_path, str(args.radius), args.min_seconds],
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            ).stdout
            ours = json.loads(out.strip().splitlines()[-1])
            ours_res = read_ours(res_path, nq)
        same_mh = mh_res == flat_res
        same_ours = ours_res == flat_res
        hits = sum(len(r) for r in flat_res)
        if not (same_mh and same_ours):
            bad = [i for i in range(nq) if ours_res[i] != flat_res[i]][:5]
            print(f"MISMATCH at {n}: multihash same={same_mh} ours same={same_ours} first queries {bad}", file=sys.stderr)
        everything.append({"n": n, "queries": nq, "hits": hits, "flat": flat, "multihash": mh, "ours": ours,
                           "identical": same_mh and same_ours})
        rows.append((n, nq, hits, flat, mh, ours, same_mh and same_ours))

    print()
    print(f"PDQ range search at radius {args.radius}, one run (FAISS {faiss.__version__}, one OpenMP thread)")
    print()
    print("| stored | index | threads | build s | bytes/hash | queries/s | ÷ Flat | ÷ MultiHash | results |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, nq, hits, flat, mh, ours, same in rows:
        ok = "identical" if same else "DIFFERENT"
        tag = f"{n / 1e6:g} M"
        print(f"| {tag} | FAISS IndexBinaryFlat | 1 | {flat['build_s']:.2f} | {flat['bytes_per_hash']:.0f} | {flat['qps']:.0f} | 1 | {flat['qps'] / mh['qps']:.2f} | {nq} queries, {hits} hits |")
        print(f"| {tag} | FAISS IndexBinaryMultiHash 16×16 nflip 1 | 1 | {mh['build_s']:.2f} | {mh['bytes_per_hash']:.0f} | {mh['qps']:.0f} | {mh['qps'] / flat['qps']:.2f} | 1 | {ok} |")
        for t in (1, 2):
            q = ours[f"qps_{t}t"]
            print(f"| {tag} | takedown-pdq-index | {t} | {ours['build_s']:.2f} | {ours['bytes_per_hash']:.1f} | {q:.0f} | **{q / flat['qps']:.0f}×** | **{q / mh['qps']:.0f}×** | {ok} |")
    print()
    print("takedown-pdq-index details (bytes/hash above = heap bytes the index holds, counted by the allocator):")
    print()
    print("| stored | build peak B/hash | RSS growth over build B/hash | saved file B/hash | save s | load s | loaded B/hash | insert µs mean / p50 / p99 / max | remove µs mean / p50 / p99 / max | q/s (1 thread) after 40 k writes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, nq, hits, flat, mh, ours, same in rows:
        i, r = ours["insert_us"], ours["remove_us"]
        print(f"| {n / 1e6:g} M | {ours['build_peak_bytes_per_hash']:.0f} | {ours['rss_build_bytes_per_hash']:.0f} | {ours['file_bytes'] / n:.1f} | {ours['save_s']:.2f} | {ours['load_s']:.2f} | {ours['loaded_bytes_per_hash']:.1f} | {i['mean']:.1f} / {i['p50']:.1f} / {i['p99']:.1f} / {i['max']:.0f} | {r['mean']:.1f} / {r['p50']:.1f} / {r['p99']:.1f} / {r['max']:.0f} | {ours['qps_1t_after_writes']:.0f} ({ours['segments_after_writes']} segments) |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(everything, f, indent=1)
    if not all(r[-1] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
