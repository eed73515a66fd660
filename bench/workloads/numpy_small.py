"""numpy with many small arrays (16-256 elements): the per-allocation cost dominates."""

import json
import os
import time

import numpy as np

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
N = max(1, int(200_000 * SCALE))


t0 = time.perf_counter()
total = 0.0
keep = []
for i in range(N):
    a = np.arange(16 + (i % 240), dtype=np.float64)
    b = a * 1.5
    c = b + a
    total += c[-1]
    if i % 100 == 0:
        keep.append(c)
    if len(keep) > 500:
        keep.clear()
print(json.dumps({"work_s": time.perf_counter() - t0, "checksum": total}))
