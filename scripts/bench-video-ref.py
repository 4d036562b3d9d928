#!/usr/bin/env python3
"""Reference path for the vPDQ benchmark (core/fingerprint/examples/bench_video.rs).

    bench-video-ref.py VIDEO SECONDS_PER_HASH

Prints one JSON line per available reference implementation:
  * "vpdq":     Meta's C++ vPDQ from PyPI (`vpdq`; libavcodec decode, swscale
                SWS_AREA to RGB24, PDQ core; thread_count=0 = one per core);
  * "pyav+pdqhash": PyAV decode + to_ndarray(rgb24) + `pdqhash` (if both import).
Each line: {"path": ..., "frames_hashed": N, "wall_s": T}. Nothing else is printed;
a missing package is reported as {"path": ..., "missing": "reason"}.
"""
import json
import sys
import time


def bench_vpdq(video, sph):
    import vpdq

    t = time.perf_counter()
    feats = vpdq.computeHash(video, seconds_per_hash=sph)
    return len(feats), time.perf_counter() - t


def bench_pyav(video, sph):
    import av
    import pdqhash

    t = time.perf_counter()
    n = 0
    with av.open(video) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate or s.base_rate)
        step = max(1, int(sph * fps))
        for i, frame in enumerate(c.decode(s)):
            if i % step:
                continue
            rgb = frame.to_ndarray(format="rgb24", interpolation="AREA")
            pdqhash.compute(rgb)
            n += 1
    return n, time.perf_counter() - t


def main():
    video, sph = sys.argv[1], float(sys.argv[2])
    for name, fn in (("vpdq", bench_vpdq), ("pyav+pdqhash", bench_pyav)):
        try:
            frames, wall = fn(video, sph)
            print(json.dumps({"path": name, "frames_hashed": frames, "wall_s": wall}))
        except ImportError as e:
            print(json.dumps({"path": name, "missing": str(e)}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
