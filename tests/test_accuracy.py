"""Accuracy of line-level attribution in real kernels, on every Python environment of tests/envs.py.

Known allocations, each in its own cell, are looked up by (cell id, line within the cell) in the cell's
``top_at_peak`` / ``retained`` sites; the expected sizes are read from the workload itself in the kernel
(``nbytes``, ``memory_usage``, ``sys.getsizeof``), never written down here. Large allocations: within 1 %
(a cell's net: 1 % and one pymalloc arena another thread may map meanwhile);
a list of 1 M small dicts: within 5 % in exact mode and 10 % in default mode (sampled).

Environments whose kernelspec is missing are skipped locally (run scripts/test-envs.sh) and fail in CI.
"""

from __future__ import annotations

import os
from typing import Dict, List

import pytest

from envs import EXTRA_ENVS, MAIN_ENV, Env
from heapscope.agent.protocol import validate_outgoing
from kernel_session import KernelSession, of_type

MB = 1_000_000
N_FLOATS = 8_000_000  # 64 MB of float64
N_DICTS = 1_000_000
PYMALLOC_ARENA = 1 << 20  # Python 3.10+ (256 KiB before)

CELLS = [
    ("imports", "import sys, threading\nimport numpy as np\nimport pandas as pd"),
    ("bytearray", "ba = bytearray(64_000_000)"),
    ("ones", f"o = np.ones({N_FLOATS})"),
    ("zeros", f"z = np.zeros({N_FLOATS})"),
    ("df", f"df = pd.DataFrame({{'a': np.arange({N_FLOATS // 2}), 'b': np.arange({N_FLOATS // 2}, dtype=float)}})"),
    ("define", "def make(n):\n    return np.ones(n)\n"),
    ("call", f"m = make({N_FLOATS // 2})"),
    (
        "thread",
        f"def work(out):\n    out.append(np.ones({N_FLOATS // 2}))\nres = []\n"
        "t = threading.Thread(target=work, args=(res,))\nt.start()\nt.join()",
    ),
    ("dicts", f"L = [{{'k': i}} for i in range({N_DICTS})]"),
    ("temp", f"t = np.ones({N_FLOATS})\nkeep = t[:10].copy()\ndel t"),
]
EXPECTED = {  # cell id -> expression evaluated in the kernel after the cells ran
    "bytearray": "len(ba)",
    "ones": "o.nbytes",
    "zeros": "z.nbytes",
    "df": "int(df.memory_usage(deep=True).sum())",
    "call": "m.nbytes",
    "thread": "res[0].nbytes",
    # every block the comprehension left alive: per element a dict object, its keys table (the rest of
    # getsizeof(d)) and an int outside the small-int cache, each in pymalloc's 16-byte size class; and
    # the list's array (from malloc)
    "dicts": "(lambda g, r: sum(r(g({})) + r(g(d) - g({})) + (r(g(d['k'])) if d['k'] > 256 else 0) for d in L)"
    " + g(L))(sys.getsizeof, lambda n: (n + 15) & ~15)",
}


def require_env(env: Env) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if env.kernel in KernelSpecManager().find_kernel_specs():
        return
    message = f"kernelspec {env.kernel!r} ({env.what}) is missing: run scripts/test-envs.sh"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def at(sites: List[dict], cell_id: str, cell_line: int) -> int:
    """Bytes of the sites whose innermost cell frame is (cell_id, cell_line)."""
    return sum(s["bytes"] for s in sites if s["cell_id"] == cell_id and s["cell_line"] == cell_line)


def within(value: int, expected: int, rel: float) -> bool:
    return abs(value - expected) <= rel * expected


@pytest.fixture(
    scope="module",
    params=[(e, m) for e in (MAIN_ENV, *EXTRA_ENVS) for m in ("default", "exact")],
    ids=lambda p: f"{p[0].kernel}-{p[1]}",
)
def workload(request, installed) -> Dict:
    env, mode = request.param
    require_env(env)
    kernel = KernelSession(env.kernel, {"HEAPSCOPE_MODE": mode})
    try:
        comm_id = kernel.open_comm("heapscope", {"protocol": 2, "type": "sync"})
        status = kernel.wait_comm(comm_id, of_type("history"))["status"]
        assert status["active"] and status["attribution"], status
        assert status["mode"] == mode
        records = {}
        for cell_id, code in CELLS:
            execution = kernel.execute(code, cell_id=cell_id, timeout=180)
            assert execution.status == "ok", (cell_id, execution.reply)
            records[cell_id] = kernel.wait_comm(comm_id, of_type("cell", cell_id=cell_id))["cell"]
        expected = {cell_id: kernel.evaluate(expr) for cell_id, expr in EXPECTED.items()}
        mark = kernel.mark()
        kernel.send_comm(comm_id, {"protocol": 2, "type": "sync"})
        history = kernel.wait_comm(comm_id, of_type("history"), after=mark)
        invalid = [(d.get("type"), validate_outgoing(d)) for d in kernel.comm_data(comm_id) if validate_outgoing(d)]
        python = kernel.evaluate("__import__('platform').python_version()")
        yield {
            "records": records,
            "expected": expected,
            "history": history,
            "invalid": invalid,
            "mode": mode,
            "python": python,
        }
    finally:
        kernel.close()


def test_messages_are_valid(workload):
    assert workload["invalid"] == []


@pytest.mark.parametrize("cell_id", ["bytearray", "ones", "zeros", "df"])
def test_large_allocations_at_their_line(workload, cell_id):
    record, expected = workload["records"][cell_id], workload["expected"][cell_id]
    assert within(at(record["retained"], cell_id, 1), expected, 0.01), record["retained"][:3]
    # The cell's net is the whole heap's: a pymalloc arena (1 MiB) that another thread (iopub, IPython's
    # history, the agent's) maps while the cell runs is in it too (seen once in CI: +1,049,816 bytes).
    net = record["end_bytes"] - record["start_bytes"]
    assert abs(net - expected) <= 0.01 * expected + PYMALLOC_ARENA, (net, expected)
    if cell_id != "df":
        assert within(at(record["top_at_peak"], cell_id, 1), expected, 0.01), record["top_at_peak"][:3]


def test_dataframe_peak_holds_its_inputs_and_its_blocks(workload):
    """pandas copies the column arrays into one block per dtype: at the peak both are alive."""
    record, expected = workload["records"]["df"], workload["expected"]["df"]
    assert within(at(record["top_at_peak"], "df", 1), 2 * expected, 0.01), record["top_at_peak"][:4]
    assert any("pandas" in s["file"] and s["cell_id"] == "df" for s in record["retained"])


def test_function_defined_in_one_cell_called_from_another(workload):
    record, expected = workload["records"]["call"], workload["expected"]["call"]
    assert within(at(record["retained"], "define", 2), expected, 0.01), record["retained"][:3]
    site = max(record["retained"], key=lambda s: s["bytes"])
    assert (site["cell_id"], site["cell_line"]) == ("define", 2)
    # the stack goes on to the calling cell's line
    assert any(f["cell_id"] == "call" and f["cell_line"] == 1 for f in site["stack"]), site["stack"]
    assert at(record["retained"], "call", 1) < 0.01 * expected


def test_thread_allocation_points_at_the_threads_line(workload):
    record, expected = workload["records"]["thread"], workload["expected"]["thread"]
    assert within(at(record["retained"], "thread", 2), expected, 0.01), record["retained"][:3]


def test_list_of_small_dicts(workload):
    record, expected = workload["records"]["dicts"], workload["expected"]["dicts"]
    rel = 0.05 if workload["mode"] == "exact" else 0.10
    got = at(record["retained"], "dicts", 1)
    assert within(got, expected, rel), (got, expected, record["retained"][:5])
    if workload["mode"] == "exact":
        count = sum(s["count"] for s in record["retained"] if s["cell_id"] == "dicts" and s["cell_line"] == 1)
        assert count >= 2 * N_DICTS  # at least a dict and a keys table (or an int) per element


def test_temporary_is_at_the_peak_but_not_at_the_end(workload):
    record = workload["records"]["temp"]
    size = N_FLOATS * 8
    assert within(at(record["top_at_peak"], "temp", 1), size, 0.01), record["top_at_peak"][:3]
    assert at(record["retained"], "temp", 1) < 0.01 * size
    assert record["peak_bytes"] - record["start_bytes"] >= 0.99 * size
    # (2 %: the kernel itself may keep ~1 MB from a cell, e.g. IPython's output history)
    assert record["end_bytes"] - record["start_bytes"] < 0.02 * size


def test_retained_by_cell(workload):
    retained = {e["cell_id"]: e for e in workload["history"]["retained_by_cell"]}
    for cell_id in ("bytearray", "ones", "zeros", "df", "call", "thread"):
        expected = workload["expected"][cell_id]
        assert within(retained[cell_id]["bytes"], expected, 0.02), (cell_id, retained.get(cell_id))
    assert retained.get("temp", {"bytes": 0})["bytes"] < 0.01 * N_FLOATS * 8
    # memory allocated by cell "call" through cell "define"'s function belongs to "call"
    assert within(at(retained["call"]["sites"], "define", 2), workload["expected"]["call"], 0.01)
