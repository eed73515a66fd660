"""Pure-Python object churn: lists of tuples and dicts built and dropped."""

import json
import os
import time

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
ROUNDS = max(1, int(8 * SCALE))
N = 200_000


def build(n):
    tuples = [(i, i * 2, -i) for i in range(n)]
    dicts = [{"k": i, "v": i + 1, "tag": "x"} for i in range(n)]
    return len(tuples) + len(dicts)


t0 = time.perf_counter()
total = 0
for _ in range(ROUNDS):
    total += build(N)
print(json.dumps({"work_s": time.perf_counter() - t0, "checksum": total}))
