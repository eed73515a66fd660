"""Call-heavy, allocation-light: recursion, method calls and small-int arithmetic."""

import json
import os
import time

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
N = max(1, int(30 * SCALE))


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Counter:
    __slots__ = ("n",)

    def __init__(self):
        self.n = 0

    def bump(self, k):
        self.n = (self.n + k) & 0xFF
        return self.n


t0 = time.perf_counter()
c = Counter()
total = 0
for _ in range(3):
    total += fib(N)
for i in range(1_000_000):
    total += c.bump(i & 7)
print(json.dumps({"work_s": time.perf_counter() - t0, "checksum": total}))
