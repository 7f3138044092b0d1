#!/usr/bin/env python3
"""numpy float32 matmul (OpenBLAS sgemm) at 256³, 512³, 1024³: best of 20, in ms and GFLOP/s.

Run as: OPENBLAS_NUM_THREADS=2 python3 benchmarks/compare/gemm_numpy.py
"""
import time

import numpy as np

for n in (256, 512, 1024):
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    for _ in range(3):
        a @ b
    best = 1e9
    for _ in range(20):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    print(f"numpy sgemm {n}: {best * 1e3:.3f} ms, {2 * n ** 3 / best / 1e9:.1f} GFLOP/s")
