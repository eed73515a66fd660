"""Benchmark of the holders scan (heapscope/agent/holders.py): seconds per million live objects.

Each size runs in a fresh process: an IPython shell (no kernel, no shim: the scan's own cost) whose namespace
holds N objects (lists of a float and a string: three objects per element, plus a dict of arrays and a few
names; with --containers, N empty lists instead: the worst case, no leaf to fold), then one scan. Prints the walk
used, objects walked, seconds, seconds per million objects, and the scan's extra memory (max RSS growth). The
machine is shared: the CPU time of the scan is the figure to compare.

The scan is the source tree's (kernel-launcher/) with the C walk of the bridge built by `make -C shim bridges`
(shim/build/bridge/); `--python` forces the Python walk (the fallback when no bridge is built for the Python).

Usage: python bench/holders/run.py [--containers] [--python] [N ...]   (default: 1000000 10000000)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import gc, json, resource, sys, time
sys.path.insert(0, %(src)r)
import heapscope
heapscope.__path__.append(%(bridge)r)  # the bridge built for this Python (the C walk)
from IPython.core.interactiveshell import InteractiveShell
from heapscope.agent import holders, holders_walk
if %(engine)r:
    holders_walk.DEFAULT_ENGINE = %(engine)r
n = %(n)d
sh = InteractiveShell.instance()
rows = ("[[float(i), str(i)] for i in range(%(n)d // 3)]" if %(shape)r == "mixed"
        else "[[] for i in range(%(n)d)]")
sh.run_cell("import numpy as np\nrows = " + rows + "\n"
            "arrays = {i: np.ones(1000) for i in range(100)}\nview = arrays[0][::2]", store_history=True)
gc.collect()
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t, c = time.perf_counter(), time.process_time()
r = holders.scan(sh)
dt, cpu = time.perf_counter() - t, time.process_time() - c
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
top = r["holders"][0]
print(json.dumps({"engine": holders_walk.DEFAULT_ENGINE, "objects": r["objects"], "seconds": dt, "cpu": cpu, "extra_rss_mb": (rss1 - rss0) / 1024,
                  "top": [top["name"], top["bytes"]]}))
"""


def main(sizes, shape="mixed", engine=""):
    print(
        f"{'walk':>6} {'objects':>12} {'seconds':>9} {'CPU s':>7} {'CPU s per M':>12} {'scan RSS MB':>12}  top holder"
    )
    for n in sizes:
        code = CHILD % {
            "src": os.environ.get("HOLDERS_SRC", str(ROOT / "kernel-launcher")),
            "bridge": str(ROOT / "shim" / "build" / "bridge"),
            "n": n,
            "shape": shape,
            "engine": engine,
        }
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['engine']:>6} {r['objects']:>12,} {r['seconds']:>9.2f} {r['cpu']:>7.2f} {r['cpu'] / r['objects'] * 1e6:>12.2f} "
            f"{r['extra_rss_mb']:>12.0f}  {r['top'][0]} {r['top'][1]:,} B"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    shape = "containers" if "--containers" in args else "mixed"  # worst case: only GC containers, no leaf to fold
    engine = "python" if "--python" in args else ""
    args = [a for a in args if a not in ("--containers", "--python")]
    main([int(float(a)) for a in args] or [1_000_000, 10_000_000], shape, engine)
