#!/usr/bin/env python3
"""Reference timings for scripts/bench-pdq.sh: Pillow + PyPI pdqhash (Meta's C++ core).

Prints tab-separated lines: file, mode, median_ms, min_ms, runs — the same shape as
`bench_pdq time`.
"""
import sys
import time

import numpy as np
import pdqhash
from PIL import Image


def timeit(fn, min_runs=5, budget=3.0):
    fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < min_runs or (time.perf_counter() - start < budget and len(samples) < 50):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    samples.sort()
    return samples[len(samples) // 2], samples[0], len(samples)


for f in sys.argv[1:]:
    m, lo, n = timeit(lambda: pdqhash.compute(np.asarray(Image.open(f).convert("RGB"))))
    print(f"{f}\tdecode+hash\t{m:.2f}\t{lo:.2f}\t{n}")
    m, lo, n = timeit(lambda: np.asarray(Image.open(f).convert("RGB")))
    print(f"{f}\tdecode only\t{m:.2f}\t{lo:.2f}\t{n}")
    arr = np.ascontiguousarray(np.asarray(Image.open(f).convert("RGB")))
    m, lo, n = timeit(lambda: pdqhash.compute(arr))
    print(f"{f}\thash only\t{m:.2f}\t{lo:.2f}\t{n}")
