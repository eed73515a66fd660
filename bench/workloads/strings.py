"""String building: joins, f-strings, repeated concatenation, split and replace."""

import json
import os
import time

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
ROUNDS = max(1, int(6 * SCALE))
N = 100_000


def build(n):
    parts = [f"row {i}: value={i * 3:08d};" for i in range(n)]
    text = "\n".join(parts)
    words = text.replace(";", " ").split()
    acc = ""
    for w in words[: n // 4]:
        acc += w[:3]
    upper = [w.upper() for w in words[:n]]
    return len(text) + len(acc) + len(upper)


t0 = time.perf_counter()
total = 0
for _ in range(ROUNDS):
    total += build(N)
print(json.dumps({"work_s": time.perf_counter() - t0, "checksum": total}))
