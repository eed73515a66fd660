"""One measurement of the profiler's own memory: run by bench/engine/run.py, never imported.

    LD_PRELOAD=libheapscope.so HEAPSCOPE_ENABLE=1 python memory_probe.py --mode exact --n 1000000
    python memory_probe.py --mode none --n 1000000          # the unprofiled baseline (RSS only)

Installs the engine (``heapscope._bridge.install(mode=...)``, as the agent does), reads ``stats()``, then
makes N live allocations and holds them: Python ints (one 32-byte pymalloc block each), and every
``--libc-every``-th element a 600-byte ``bytes`` instead (larger than pymalloc's 512-byte limit, so a libc
``malloc`` block), all in one list (one more libc block). Reads ``stats()`` and /proc/self/status again and
prints one JSON line. The list is built with one bytecode line, so all of it shares one Python stack: what
is measured is the pointer table's cost per entry, not the stack trie's.
"""

from __future__ import annotations

import argparse
import json
import time


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _numbers(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("exact", "default", "none"), required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--libc-every", type=int, default=64)
    ns = ap.parse_args()

    bridge = None
    if ns.mode != "none":
        from heapscope import _bridge as bridge  # type: ignore[no-redef]

        if not bridge.ACTIVE:
            raise SystemExit("heapscope._bridge: the shim is not preloaded and active in this process")
        bridge.install(mode=ns.mode)  # the agent's defaults: threshold 64 KiB, interval 64 KiB, sampler 20 Hz
        time.sleep(0.1)  # let the sampler thread start (its ring is profiler memory)
    before = _numbers(bridge.stats()) if bridge else {}
    rss0, hwm0 = _status_kb("VmRSS"), _status_kb("VmHWM")

    n, every, base = ns.n, ns.libc_every, 1 << 20  # ints >= 257 are fresh objects, never cached
    t0 = time.perf_counter()
    held = [bytes(600) if i % every == 0 else i for i in range(base, base + n)]
    build_s = time.perf_counter() - t0

    after = _numbers(bridge.stats()) if bridge else {}
    out = {
        "mode": ns.mode,
        "n": n,
        "libc_blocks": (n + every - 1) // every,
        "build_s": build_s,
        "rss_before_kb": rss0,
        "hwm_before_kb": hwm0,
        "rss_after_kb": _status_kb("VmRSS"),
        "hwm_after_kb": _status_kb("VmHWM"),
        "before": before,
        "after": after,
        "bridge_mode": bridge.stats().get("mode") if bridge else None,
    }
    print(json.dumps(out), flush=True)
    del held


if __name__ == "__main__":
    main()
