"""Run All without a browser: the kernel side of bench/runall.sh (issue 11, Speed).

Sends the N small cells of bench/runall.sh's notebook to a kernel at once (as Run All does) and
waits for the last reply: stock python3, heapscope without the extension's comm, and heapscope
with the comm open (what the Heap panel's kernel does). Prints the ratios vs stock; not a test.

    .venv/bin/python -m bench.runall.kernel [--cells 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import List, Tuple

from jupyter_client.manager import start_new_kernel


def cell_source(i: int) -> str:
    if i == 0:
        return "import numpy as np\nlen(np.__version__)"
    return f"# cell {i}\nv{i} = list(range({i % 100}))\nlen(v{i})"


def run(kernel: str, cells: int, comm: bool) -> Tuple[float, int]:
    km, kc = start_new_kernel(kernel_name=kernel)
    try:
        if comm:
            msg = kc.session.msg("comm_open", {"comm_id": "bench-runall", "target_name": "heapscope", "data": {}})
            kc.shell_channel.send(msg)
            time.sleep(1.5)
        while True:  # drain start-up messages
            try:
                kc.get_iopub_msg(timeout=0.2)
            except Exception:
                break
        t0 = time.perf_counter()
        last = [kc.execute(cell_source(i)) for i in range(cells)][-1]
        while kc.get_shell_msg(timeout=300)["parent_header"].get("msg_id") != last:
            pass
        wall = time.perf_counter() - t0
        iopub = 0
        while True:
            try:
                kc.get_iopub_msg(timeout=0.3)
                iopub += 1
            except Exception:
                break
        return wall, iopub
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    configs = [
        ("stock python3", "python3", False),
        ("heapscope, no comm", "heapscope", False),
        ("heapscope + comm", "heapscope", True),
    ]
    walls = {label: [] for label, _, _ in configs}
    msgs = {}
    for _ in range(args.rounds):
        for label, kernel, comm in configs:
            wall, iopub = run(kernel, args.cells, comm)
            walls[label].append(wall)
            msgs[label] = iopub
    stock = statistics.median(walls["stock python3"])
    print(f"Kernel only, {args.cells} small cells sent at once, {args.rounds} round(s) (median):")
    for label, _, _ in configs:
        wall = statistics.median(walls[label])
        print(f"  {label:20s} {wall:6.2f} s  {wall / stock:4.2f}x stock  ({msgs[label]} iopub messages)")


if __name__ == "__main__":
    main()
