"""Who holds it (agent/holders.py) in real heapscope kernels: the scan over the comm, its numbers against the
truth (the shim's exact heap total before and after dropping each holder), shared memory, and that the scan
changes nothing in the user's namespace."""

from __future__ import annotations

import sys
from pathlib import Path

from heapscope.agent.protocol import validate_outgoing, validate_report
from kernel_session import KernelSession, of_type

MB = 1_000_000
#: A holder that frees (almost) nothing may still differ by a few allocator blocks: absolute slack.
SLACK = 64 * 1024

SETUP = """
import gc, functools, sys
import numpy as np, pandas as pd

def measure_free(drop):
    import heapscope.agent as A
    gc.collect()
    before = A._agent.stats().current_bytes
    drop()
    gc.collect()
    return before - A._agent.stats().current_bytes

def pop(*names):
    return lambda: [globals().pop(n) for n in names] and None

def release(name):
    from heapscope.agent.holders import release as r
    return lambda: r(get_ipython(), name) and None
"""

DATA = """
arr = np.ones(10_000_000)            # 80 MB
base = np.ones(6_000_000)            # 48 MB
view = base[::2]
ba = bytearray(30 * 10**6)
arrays = [np.ones(1_000_000) for _ in range(5)]       # 40 MB
by_key = {i: np.ones(1_000_000) for i in range(3)}    # 24 MB
df = pd.DataFrame({"x": np.ones(2_000_000), "y": np.arange(2_000_000.0)})
col = df["x"]

@functools.lru_cache(maxsize=None)
def cached(n):
    return np.ones(n)

cached(3_000_000)                    # 24 MB in the cache

def make():
    buf = bytearray(20 * 10**6)
    def closure():
        return len(buf)
    return closure

closure = make()
"""

RAISE = """
def fails():
    big = bytearray(150 * 10**6)
    raise ValueError("while big was alive")

fails()
"""


def open_comm(kernel: KernelSession) -> str:
    comm_id = kernel.open_comm("heapscope", {"protocol": 2, "type": "sync"})
    kernel.wait_comm(comm_id, of_type("history"))
    return comm_id


def holders(kernel: KernelSession, comm_id: str) -> tuple:
    mark = kernel.mark()
    kernel.send_comm(comm_id, {"protocol": 2, "type": "holders"})
    answer = kernel.wait_comm(comm_id, of_type("holders"), after=mark, timeout=120)
    progress = [d for d in kernel.comm_data(comm_id)[0:] if isinstance(d, dict) and d.get("type") == "holders_progress"]
    assert answer["holders"] is not None, answer.get("reason")
    return answer["holders"], progress


def by_name(result: dict) -> dict:
    return {h["name"]: h for h in result["holders"]}


def shared(result: dict, *names: str) -> int:
    return sum(g["bytes"] for g in result["shared"] if set(g["names"]) == set(names))


def near(value: int, truth: int) -> bool:
    return abs(value - truth) <= max(0.01 * truth, SLACK)


def test_holders_match_what_deleting_frees(heapscope_kernel):
    kernel = heapscope_kernel
    comm_id = open_comm(kernel)
    for code, cell in ((SETUP, "setup"), (DATA, "data")):
        assert kernel.execute(code, cell_id=cell, timeout=120).status == "ok"
    assert kernel.execute("np.ones(12_500_000)", cell_id="out").status == "ok"  # Out[3]: 100 MB
    assert kernel.execute(RAISE, cell_id="raise").status == "error"
    names = ("arr", "base", "view", "ba", "arrays", "by_key", "df", "col", "cached", "closure")
    probe = f"[(n, id(get_ipython().user_ns[n]), sys.getrefcount(get_ipython().user_ns[n])) for n in {names!r}]"
    before = kernel.evaluate(probe)
    keys = kernel.evaluate("sorted(k for k in get_ipython().user_ns)")
    outs = kernel.evaluate("sorted(Out)")

    result, progress = holders(kernel, comm_id)
    for data in kernel.comm_data(comm_id):
        assert validate_outgoing(data) is None, (data.get("type"), validate_outgoing(data))
    assert progress, "no holders_progress before the answer"

    # the scan changed nothing
    assert kernel.evaluate(probe) == before
    assert kernel.evaluate("sorted(k for k in get_ipython().user_ns)") == keys
    assert kernel.evaluate("sorted(Out)") == outs

    h = by_name(result)
    assert [x["bytes"] for x in result["holders"]] == sorted((x["bytes"] for x in result["holders"]), reverse=True)
    assert h["Out[3]"]["kind"] == "output" and h["last traceback"]["kind"] == "traceback"
    assert h["arr"]["kind"] == "variable" and h["arr"]["type"] == "numpy.ndarray"
    assert h["arr"]["cell_id"] == "data" and h["Out[3]"]["cell_id"] == "out" and h["Out[3]"]["execution_count"] == 3
    tb = h["last traceback"]
    assert tb["cell_id"] == "raise" and tb["execution_count"] == 4, tb
    assert h["df"]["type"] == "pandas.DataFrame"
    assert any(x["kind"] == "other" for x in result["holders"])
    assert "np" not in h and "pd" not in h  # modules hold nothing of their own
    # shared memory is counted once: in the group, not in either holder
    assert shared(result, "base", "view") >= 48 * MB
    assert h["base"]["bytes"] < MB and h["view"]["bytes"] < MB
    assert h["view"]["reachable_bytes"] >= 48 * MB
    assert shared(result, "df", "col") >= 16 * MB
    assert h["col"]["bytes"] < MB
    # the top site of what a holder keeps is the cell line that allocated it (the shim's block at the buffer)
    # (IPython drops a cell's leading blank line: DATA's first line is `arr = ...`)
    for name, cell, line in (
        ("arr", "data", 1),
        ("ba", "data", 4),
        ("Out[3]", "out", 1),
        ("last traceback", "raise", 2),
    ):
        top = h[name]["sites"][0]
        assert (top["cell_id"], top["cell_line"]) == (cell, line), (name, top)

    def truth(drop: str) -> int:
        return kernel.evaluate(f"measure_free({drop})")

    checks = [
        ("arr", "pop('arr')", h["arr"]["bytes"]),
        ("ba", "pop('ba')", h["ba"]["bytes"]),
        ("arrays", "pop('arrays')", h["arrays"]["bytes"]),
        ("by_key", "pop('by_key')", h["by_key"]["bytes"]),
        ("cached", "pop('cached')", h["cached"]["bytes"]),
        ("closure", "pop('closure')", h["closure"]["bytes"]),
        ("view alone", "pop('view')", h["view"]["bytes"]),
        ("base (the view gone)", "pop('base')", h["base"]["bytes"] + shared(result, "base", "view")),
        ("col alone", "pop('col')", h["col"]["bytes"]),
        ("df (col gone)", "pop('df')", h["df"]["bytes"] + shared(result, "df", "col")),
        ("Out[3]", "release('Out[3]')", h["Out[3]"]["bytes"]),
        ("last traceback", "release('last traceback')", h["last traceback"]["bytes"]),
    ]
    misses = []
    for what, drop, said in checks:
        freed = truth(drop)
        if not near(said, freed):
            misses.append(f"{what}: holders say {said:,}, deleting freed {freed:,}")
    assert not misses, "\n".join(misses)
    assert h["Out[3]"]["bytes"] >= 100 * MB and h["last traceback"]["bytes"] >= 150 * MB
    assert h["arr"]["bytes"] >= 80 * MB and h["cached"]["bytes"] >= 24 * MB and h["closure"]["bytes"] >= 20 * MB


def test_release_over_the_comm(heapscope_kernel):
    kernel = heapscope_kernel
    comm_id = open_comm(kernel)
    assert kernel.execute("import numpy as np", cell_id="a").status == "ok"
    assert kernel.execute("np.ones(5_000_000)", cell_id="b").status == "ok"  # Out[2]
    assert kernel.execute("_2 is Out[2] and _ is Out[2]", cell_id="c").status == "ok"
    result, _ = holders(kernel, comm_id)
    assert by_name(result)["Out[2]"]["bytes"] >= 40 * MB
    mark = kernel.mark()
    kernel.send_comm(comm_id, {"protocol": 2, "type": "release_holder", "name": "Out[2]"})
    answer = kernel.wait_comm(comm_id, of_type("holder_released"), after=mark)
    assert answer == {"protocol": 2, "type": "holder_released", "name": "Out[2]", "released": True}
    assert kernel.evaluate("2 in Out or '_2' in get_ipython().user_ns") is False
    result, _ = holders(kernel, comm_id)
    assert "Out[2]" not in by_name(result)
    # a variable is never released by the kernel: the user deletes it
    mark = kernel.mark()
    kernel.send_comm(comm_id, {"protocol": 2, "type": "release_holder", "name": "np"})
    assert kernel.wait_comm(comm_id, of_type("holder_released"), after=mark)["released"] is False
    assert kernel.evaluate("'np' in get_ipython().user_ns") is True


def test_report_has_holders(tmp_path):
    """heapscope report computes the holders after the last cell; --no-holders leaves them out."""
    import json
    import subprocess

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nbig = np.ones(10_000_000)"),
        nbformat.v4.new_code_cell("np.ones(2_000_000)"),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "r.json"
    heapscope = str(Path(sys.executable).with_name("heapscope"))
    subprocess.run([heapscope, "report", str(path), "--json", str(out)], check=True, timeout=300)
    report = json.loads(out.read_text())
    assert validate_report(report) is None, validate_report(report)
    h = {x["name"]: x for x in report["holders"]["holders"]}
    assert h["big"]["bytes"] >= 80 * MB and h["Out[2]"]["bytes"] >= 16 * MB
    # nbclient sends no cellId: the report maps execution counts to the notebook's cells
    assert h["big"]["cell_id"] == nb.cells[0].id and h["Out[2]"]["cell_id"] == nb.cells[1].id
    assert h["big"]["sites"][0]["cell_id"] == nb.cells[0].id and h["big"]["sites"][0]["cell_line"] == 2
    out2 = tmp_path / "r2.json"
    subprocess.run([heapscope, "report", str(path), "--json", str(out2), "--no-holders"], check=True, timeout=300)
    assert "holders" not in json.loads(out2.read_text())
