"""Line-level attribution end to end in the main environment's heapscope kernel: the ledger across
interrupts, errors and restarts; coexistence with tracemalloc and sys.setprofile; children not profiled;
modes; live samples; cell_detail and retained_by_cell requests."""

from __future__ import annotations

import time

from heapscope.agent.protocol import validate_outgoing
from kernel_session import KernelSession, of_type

N = 40_000_000  # bytes of one "large" allocation


def at(sites, cell_id, cell_line) -> int:
    return sum(s["bytes"] for s in sites if s["cell_id"] == cell_id and s["cell_line"] == cell_line)


def near(value: int, expected: int, rel: float = 0.01) -> bool:
    return abs(value - expected) <= rel * expected


def open_comm(kernel: KernelSession) -> tuple:
    comm_id = kernel.open_comm("heapscope", {"protocol": 2, "type": "sync"})
    return comm_id, kernel.wait_comm(comm_id, of_type("history"))


def run(kernel: KernelSession, comm_id: str, code: str, cell_id: str, timeout: float = 120) -> dict:
    kernel.execute(code, cell_id=cell_id, timeout=timeout)
    return kernel.wait_comm(comm_id, of_type("cell", cell_id=cell_id), timeout=timeout)["cell"]


def request(kernel: KernelSession, comm_id: str, msg: dict, answer: str) -> dict:
    mark = kernel.mark()
    kernel.send_comm(comm_id, {"protocol": 2, **msg})
    return kernel.wait_comm(comm_id, of_type(answer), after=mark)


def all_valid(kernel: KernelSession, comm_id: str) -> None:
    for data in kernel.comm_data(comm_id):
        assert validate_outgoing(data) is None, (data.get("type"), validate_outgoing(data))


def test_interrupt_error_and_next_cells_keep_the_ledger_right(heapscope_kernel):
    kernel = heapscope_kernel
    comm_id, history = open_comm(kernel)
    assert history["status"]["attribution"] is True, history["status"]
    run(kernel, comm_id, "import numpy as np\n1/0", "warm")  # imports, and the first traceback's modules

    # Interrupt an allocation-heavy loop.
    msg_id = kernel.start_execute(
        "keep = []\nprint('go', flush=True)\nwhile True:\n    keep.append(np.ones(100_000))\n"
        "    if len(keep) > 200:\n        del keep[:100]",
        "loop",
    )  # (never empty: the interrupt often lands in the del)
    kernel.pump(lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream")
    time.sleep(1.0)
    kernel.km.interrupt_kernel()
    assert kernel.shell_reply(msg_id)["content"]["status"] == "error"
    loop = kernel.wait_comm(comm_id, of_type("cell", cell_id="loop"))["cell"]
    assert loop["status"] == "interrupted"
    kept = kernel.evaluate("sum(a.nbytes for a in keep)")
    assert at(loop["top_at_peak"], "loop", 4) >= 100_000 * 8 * 100  # ≥ 100 arrays of the loop at the peak
    # ... plus the array being appended when the interrupt came, if any (the traceback holds its frame)
    one = 100_000 * 8
    assert 0.99 * kept <= at(loop["retained"], "loop", 4) <= 1.01 * (kept + one), (kept, loop["retained"][:3])

    raised = run(kernel, comm_id, f"r = bytearray({N})\n1/0", "raises")
    assert raised["status"] == "error"
    assert near(at(raised["retained"], "raises", 1), N)

    after = run(kernel, comm_id, f"a = bytearray({N})", "after")
    assert near(at(after["top_at_peak"], "after", 1), N) and near(at(after["retained"], "after", 1), N)
    # nothing of the earlier cells leaks into the next cell's lists
    assert {s["cell_id"] for s in after["top_at_peak"] + after["retained"]} <= {"after", None}

    retained = {
        e["cell_id"]: e
        for e in request(kernel, comm_id, {"type": "retained_by_cell"}, "retained_by_cell")["retained_by_cell"]
    }
    assert near(retained["raises"]["bytes"], N, 0.02) and near(retained["after"]["bytes"], N, 0.02)
    # (the interrupt's traceback also allocates in that cell: compare the loop's line)
    assert "loop" in retained, (kept, {cell: e["bytes"] for cell, e in retained.items()})
    assert 0.99 * kept <= at(retained["loop"]["sites"], "loop", 4) <= 1.01 * (kept + one)
    all_valid(kernel, comm_id)


def test_restart_starts_a_fresh_ledger(heapscope_kernel):
    kernel = heapscope_kernel
    comm_id, _ = open_comm(kernel)
    run(kernel, comm_id, f"x = bytearray({N})", "before")
    kernel.km.restart_kernel(now=False)  # as JupyterLab restarts: shutdown_request first
    kernel.kc.wait_for_ready(timeout=60)
    comm_id, history = open_comm(kernel)
    assert history["cells"] == [] and history["status"]["attribution"] is True
    assert all(e["cell_id"] != "before" for e in history["retained_by_cell"])
    record = run(kernel, comm_id, f"y = bytearray({N})", "fresh")
    assert record["seq"] == 1 and near(at(record["retained"], "fresh", 1), N)


def test_a_killed_kernel_leaves_its_runs_to_the_next_one(heapscope_kernel):
    """A kernel killed between cells (SIGKILL: an OOM kill, a forced restart) does not get to clean up; the
    next kernel for the same connection shows the dead one's finished runs, then numbers its own after them."""
    kernel = heapscope_kernel
    comm_id, _ = open_comm(kernel)
    run(kernel, comm_id, f"x = bytearray({N})", "before")
    kernel.km.restart_kernel(now=True)
    kernel.kc.wait_for_ready(timeout=60)
    comm_id, history = open_comm(kernel)
    assert [(c["cell_id"], c["status"]) for c in history["cells"]] == [("before", "ok")], history["cells"]
    assert all(e["cell_id"] != "before" for e in history["retained_by_cell"])  # its memory went with it
    record = run(kernel, comm_id, f"y = bytearray({N})", "fresh")
    assert record["seq"] == history["cells"][0]["seq"] + 1
    assert near(at(record["retained"], "fresh", 1), N)


def test_coexists_with_tracemalloc_and_setprofile(heapscope_kernel):
    kernel = heapscope_kernel
    comm_id, _ = open_comm(kernel)
    code = (
        f"import tracemalloc\ntracemalloc.start()\nx = bytearray({N})\n"
        "traced = tracemalloc.get_traced_memory()[0]\ntracemalloc.stop()"
    )
    record = run(kernel, comm_id, code, "tracemalloc")
    assert kernel.evaluate("traced") >= N  # tracemalloc still sees the allocation
    assert near(at(record["retained"], "tracemalloc", 3), N)
    code = (
        "import sys\nevents = []\nsys.setprofile(lambda frame, event, arg: events.append(event))\n"
        f"y = bytearray({N})\nsys.setprofile(None)"
    )
    record = run(kernel, comm_id, code, "setprofile")
    assert kernel.evaluate("len(events) > 0")
    assert near(at(record["retained"], "setprofile", 4), N)
    after = run(kernel, comm_id, f"z = bytearray({N})", "after-hooks")
    assert near(at(after["retained"], "after-hooks", 1), N)


def test_children_are_not_profiled(heapscope_kernel, tmp_path):
    kernel = heapscope_kernel
    comm_id, _ = open_comm(kernel)
    # spawn pickles the function by reference: it must live in an importable module
    (tmp_path / "hs_child.py").write_text(
        "import os\n"
        "def child(n):\n"
        "    data = bytearray(n)\n"
        "    return (open('/proc/self/maps').read().count('libheapscope'), os.environ.get('LD_PRELOAD'),\n"
        "            os.environ.get('HEAPSCOPE_ENABLE'), len(data))\n"
    )
    code = (
        f"import sys, multiprocessing as mp\nsys.path.insert(0, {str(tmp_path)!r})\nfrom hs_child import child\n"
        f"with mp.get_context('spawn').Pool(1) as pool:\n    spawned = pool.map(child, [{N}])[0]\n"
        f"with mp.get_context('fork').Pool(1) as pool:\n    forked = pool.map(child, [{N}])[0]\n"
        "shell = !echo $LD_PRELOAD:$HEAPSCOPE_ENABLE"
    )
    record = run(kernel, comm_id, code, "children")
    assert record["status"] == "ok"
    spawned, forked, shell = kernel.evaluate("(spawned, forked, list(shell))")
    assert spawned == (0, None, None, N)  # a spawned child does not load the shim
    assert forked[1:] == (None, None, N)  # a forked child has the mapping but not the preload
    assert shell == [":"]
    # the children's allocations are not the kernel's
    assert record["peak_bytes"] - record["start_bytes"] < N / 2, record
    assert all(s["bytes"] < N / 2 for s in record["top_at_peak"])


def test_live_rss_beside_the_heap_while_a_cell_runs(heapscope_kernel):
    """The ticks of a running cell carry RSS readings (one a batch, from /proc): a cell that touches the pages
    of a 300 MB array 30 MB at a time, slowly, shows RSS climbing while it runs, not only at its end."""
    kernel = heapscope_kernel
    comm_id, _ = open_comm(kernel)
    code = (
        "import time\nimport numpy as np\nbuf = np.empty(300_000_000, dtype=np.uint8)  # pages not touched yet\n"
        "for i in range(0, len(buf), 30_000_000):\n    buf[i:i + 30_000_000] = 1\n    time.sleep(0.15)"
    )
    record = run(kernel, comm_id, code, "rss-live")
    messages = [d for d in kernel.comm_data(comm_id) if d["type"] == "ticks" and d["seq"] == record["seq"]]
    rss = [r for d in messages for r in d.get("rss", [])]
    assert len(rss) >= 5, messages
    times = [t for t, _ in rss]
    assert times == sorted(times) and all(record["started_at"] <= t <= record["ended_at"] + 1 for t in times)
    values = [b for _, b in rss]
    assert max(values) - min(values) > 150e6, values  # it climbed while the cell ran
    assert record["rss_start_bytes"] <= min(values) + 50e6 and max(values) <= record["rss_peak_bytes"] + 50e6
    all_valid(kernel, comm_id)


def test_mode_switch_applies_at_the_next_cell(heapscope_kernel):
    kernel = heapscope_kernel
    comm_id, history = open_comm(kernel)
    assert history["status"]["mode"] == "default"
    status = request(kernel, comm_id, {"type": "configure", "mode": "exact", "top_n": 5}, "status")["status"]
    assert (status["mode"], status["pending_mode"], status["pending_mode_applies"]) == ("default", "exact", "next_cell")
    assert status["top_n"] == 5
    n = 200_000
    record = run(kernel, comm_id, f"d = [dict(k=i) for i in range({n})]", "exact-cell")
    statuses = [d["status"] for d in kernel.comm_data(comm_id) if d["type"] == "status"]
    assert statuses[-1]["mode"] == "exact" and statuses[-1]["pending_mode"] is None
    assert len(record["retained"]) <= 5
    # exact mode: every dict is counted (a few may come from CPython's dict free list)
    assert sum(s["count"] for s in record["retained"] if s["cell_line"] == 1) >= 0.99 * n
    back = request(kernel, comm_id, {"type": "configure", "mode": "default"}, "status")["status"]
    assert back["pending_mode"] == "default"
    all_valid(kernel, comm_id)


def test_live_samples_while_a_cell_runs_even_when_it_holds_the_gil(heapscope_kernel):
    kernel = heapscope_kernel
    comm_id, history = open_comm(kernel)
    hz = history["status"]["tick_hz"]
    assert hz >= 10
    run(kernel, comm_id, "import time\nnumbers = list(range(6_000_000, 0, -1))", "setup")
    # time.sleep releases the GIL; sorted() of a big list holds it for its whole duration (C code).
    code = (
        "t0 = time.time()\ntime.sleep(1.5)\nt1 = time.time()\ns = sorted(numbers, key=lambda v: -v)\nt2 = time.time()"
    )
    record = run(kernel, comm_id, code, "live")
    t0, t1, t2 = kernel.evaluate("(t0, t1, t2)")
    messages = [d for d in kernel.comm_data(comm_id) if d["type"] == "ticks" and d["seq"] == record["seq"]]
    times = [t for d in messages for t, _ in d["ticks"]]
    assert times == sorted(times)
    assert len([t for t in times if t0 <= t <= t1]) >= 0.8 * hz * (t1 - t0)
    # samples were taken while the GIL was held (they arrive late, but with their own times)
    held = [t for t in times if t1 <= t <= t2]
    assert t2 - t1 > 0.3 and len(held) >= 0.5 * hz * (t2 - t1), (t2 - t1, len(held))
    assert len(messages) <= 10 * (record["ended_at"] - record["started_at"]) + 2  # batched
    assert all(record["started_at"] <= t for t in times)


def test_cell_detail_and_top_n(heapscope_kernel):
    kernel = heapscope_kernel
    comm_id, _ = open_comm(kernel)
    code = "import numpy as np\narrays = [np.ones(100_000 + 1000 * i) for i in range(60)]"
    record = run(kernel, comm_id, code, "many")
    assert len(record["top_at_peak"]) <= 20
    detail = request(kernel, comm_id, {"type": "cell_detail", "seq": record["seq"], "limit": 500}, "cell_detail")
    assert detail["seq"] == record["seq"] and detail["cell"]["cell_id"] == "many"
    assert len(detail["cell"]["retained"]) >= len(record["retained"])
    total = kernel.evaluate("sum(a.nbytes for a in arrays)")
    assert near(at(detail["cell"]["retained"], "many", 2), total, 0.01)
    missing = request(kernel, comm_id, {"type": "cell_detail", "seq": 9999}, "cell_detail")
    assert missing["cell"] is None
    all_valid(kernel, comm_id)


def test_attribution_off_keeps_totals_and_says_why(start_kernel):
    kernel = start_kernel("heapscope", env={"HEAPSCOPE_ATTRIBUTION": "0"})
    comm_id, history = open_comm(kernel)
    status = history["status"]
    assert status["active"] is True and status["attribution"] is False
    assert "HEAPSCOPE_ATTRIBUTION=0" in status["attribution_reason"]
    assert history["retained_by_cell"] is None
    record = run(kernel, comm_id, f"x = bytearray({N})", "totals")
    assert "top_at_peak" not in record and near(record["end_bytes"] - record["start_bytes"], N)
    assert not [d for d in kernel.comm_data(comm_id) if d["type"] == "ticks"]
    all_valid(kernel, comm_id)
