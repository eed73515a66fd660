"""numpy with large arrays (8-64 MiB each): allocate, compute, copy, drop."""

import json
import os
import time

import numpy as np

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
ROUNDS = max(1, int(12 * SCALE))
N = 8 * 1024 * 1024  # 64 MiB of float64


def step(rng):
    a = rng.random(N)
    b = np.ones(N)
    c = a * 2.0 + b
    d = np.sort(c[: N // 8])
    e = np.concatenate([a[: N // 2], d])
    return float(c[0] + e[-1])


t0 = time.perf_counter()
rng = np.random.default_rng(0)
total = 0.0
for _ in range(ROUNDS):
    total += step(rng)
print(json.dumps({"work_s": time.perf_counter() - t0, "checksum": total}))
