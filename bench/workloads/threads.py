"""Threads allocating concurrently: Python objects (GIL held) and numpy buffers (GIL released)."""

import json
import os
import threading
import time

import numpy as np

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
THREADS = 4
ROUNDS = max(1, int(5 * SCALE))


def worker(seed, out):
    rng = np.random.default_rng(seed)
    acc = 0
    for _ in range(ROUNDS):
        objs = [{"i": i, "t": (i, seed)} for i in range(40_000)]
        buf = bytearray(1 << 20)
        arr = rng.random(1 << 20) * 3.0
        arr2 = np.sort(arr)
        acc += len(objs) + len(buf) + int(arr2[-1])
    out[seed] = acc


t0 = time.perf_counter()
results = {}
threads = [threading.Thread(target=worker, args=(s, results)) for s in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"work_s": time.perf_counter() - t0, "checksum": sum(results.values())}))
