"""The heapscope kernel end to end: installed kernelspec, launcher, shim, agent, comm protocol v1."""

from __future__ import annotations

import time

import pytest

from heapscope.agent.protocol import validate_outgoing
from kernel_session import KernelSession, of_type

MB200 = 200_000_000


def approx(value: int, expected: int, rel: float = 0.01) -> bool:
    return abs(value - expected) <= rel * abs(expected)


def open_heapscope_comm(kernel: KernelSession) -> tuple:
    """Open the comm as the extension does (sync as open data); returns (comm_id, history message)."""
    comm_id = kernel.open_comm("heapscope", {"protocol": 2, "type": "sync"})
    return comm_id, kernel.wait_comm(comm_id, of_type("history"))


def run_cell(kernel: KernelSession, comm_id: str, code: str, cell_id: str) -> dict:
    """Execute a cell and return the CellRun the agent sent for it."""
    kernel.execute(code, cell_id=cell_id)
    return kernel.wait_comm(comm_id, of_type("cell", cell_id=cell_id))["cell"]


def assert_all_valid(kernel: KernelSession, comm_id: str) -> None:
    for data in kernel.comm_data(comm_id):
        assert validate_outgoing(data) is None, data


def test_allocation_and_free_are_measured(heapscope_kernel):
    comm_id, history = open_heapscope_comm(heapscope_kernel)
    assert history["status"]["active"] is True, history["status"]
    assert history["status"]["reason"] is None
    assert history["cells"] == [] and history["running"] is None

    execution = heapscope_kernel.execute("x = bytearray(200_000_000)", cell_id="cell-alloc")
    assert execution.status == "ok"
    cell = heapscope_kernel.wait_comm(comm_id, of_type("cell", cell_id="cell-alloc"))["cell"]
    assert cell["execution_count"] == execution.reply["execution_count"]
    assert cell["source"] == "x = bytearray(200_000_000)"
    assert cell["status"] == "ok"
    assert approx(cell["peak_bytes"] - cell["start_bytes"], MB200), cell
    assert approx(cell["end_bytes"] - cell["start_bytes"], MB200), cell
    assert cell["ended_at"] >= cell["started_at"]

    freed = run_cell(heapscope_kernel, comm_id, "del x", "cell-free")
    assert approx(freed["end_bytes"] - freed["start_bytes"], -MB200), freed
    assert freed["peak_bytes"] - freed["start_bytes"] < 0.01 * MB200, freed
    assert freed["execution_count"] == cell["execution_count"] + 1
    assert_all_valid(heapscope_kernel, comm_id)


def test_history_and_broadcast_to_every_comm(heapscope_kernel):
    first, _ = open_heapscope_comm(heapscope_kernel)
    second, _ = open_heapscope_comm(heapscope_kernel)
    run_cell(heapscope_kernel, first, "a = bytearray(10_000_000)", "c1")
    heapscope_kernel.wait_comm(second, of_type("cell", cell_id="c1"))
    run_cell(heapscope_kernel, second, "b = 1", "c2")

    # A reloaded page opens a new comm and gets the history, in execution order, on that comm only.
    third, history = open_heapscope_comm(heapscope_kernel)
    assert [c["cell_id"] for c in history["cells"]] == ["c1", "c2"]
    assert [c["seq"] for c in history["cells"]] == sorted(c["seq"] for c in history["cells"])
    assert len([d for d in heapscope_kernel.comm_data(first) if d["type"] == "history"]) == 1

    mark = heapscope_kernel.mark()
    heapscope_kernel.send_comm(third, {"protocol": 2, "type": "clear"})
    for comm_id in (first, second, third):
        cleared = heapscope_kernel.wait_comm(comm_id, of_type("history"), after=mark)
        assert cleared["cells"] == []
        assert cleared["status"]["active"] is True
    for comm_id in (first, second, third):
        assert_all_valid(heapscope_kernel, comm_id)


def test_cell_that_raises_or_is_interrupted_closes_its_record(heapscope_kernel):
    comm_id, _ = open_heapscope_comm(heapscope_kernel)
    # The first traceback imports IPython's formatting modules (~1.5 MB): raise once before measuring.
    assert run_cell(heapscope_kernel, comm_id, "1/0", "first-raise")["status"] == "error"
    raised = run_cell(heapscope_kernel, comm_id, "t = bytearray(100_000_000)\n1/0", "raises")
    assert raised["status"] == "error"
    assert approx(raised["end_bytes"] - raised["start_bytes"], 100_000_000), raised

    syntax = run_cell(heapscope_kernel, comm_id, "def (:", "syntax")
    assert syntax["status"] == "error"

    # Interrupt a running cell, as the stop button does.
    msg_id = heapscope_kernel.start_execute(
        "import time\nu = bytearray(30_000_000)\nprint('allocated', flush=True)\ntime.sleep(60)", "interrupted"
    )
    heapscope_kernel.pump(lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream")
    time.sleep(0.5)  # let print() finish: interrupted inside ipykernel, the traceback reads its sources (~6 MB)
    heapscope_kernel.km.interrupt_kernel()
    assert heapscope_kernel.shell_reply(msg_id)["content"]["status"] == "error"
    interrupted = heapscope_kernel.wait_comm(comm_id, of_type("cell", cell_id="interrupted"))["cell"]
    assert interrupted["status"] == "interrupted"
    assert 0.99 * 30_000_000 <= interrupted["peak_bytes"] - interrupted["start_bytes"] < 40_000_000, interrupted

    after = run_cell(heapscope_kernel, comm_id, "v = bytearray(50_000_000)", "after")
    assert after["status"] == "ok"
    assert approx(after["end_bytes"] - after["start_bytes"], 50_000_000), after
    assert approx(after["peak_bytes"] - after["start_bytes"], 50_000_000), after
    assert after["execution_count"] == interrupted["execution_count"] + 1
    assert_all_valid(heapscope_kernel, comm_id)


def test_nested_run_cell_keeps_the_outer_peak(heapscope_kernel):
    comm_id, _ = open_heapscope_comm(heapscope_kernel)
    code = "a = bytearray(100_000_000)\ndel a\nget_ipython().run_cell('b = bytearray(10_000_000)')"
    outer = run_cell(heapscope_kernel, comm_id, code, "outer")
    assert approx(outer["peak_bytes"] - outer["start_bytes"], 100_000_000, rel=0.05), outer
    assert approx(outer["end_bytes"] - outer["start_bytes"], 10_000_000, rel=0.05), outer
    inner = [
        d["cell"]
        for d in heapscope_kernel.comm_data(comm_id)
        if d["type"] == "cell" and d["cell"]["source"].startswith("b = ")
    ]
    assert len(inner) == 1 and inner[0]["seq"] > outer["seq"]


@pytest.mark.parametrize(
    "bad",
    [
        "not an object",
        ["protocol", 1],
        {"type": "sync"},
        {"protocol": 1, "type": "sync"},  # protocol 1 (before samples/live_hz became ticks/tick_hz)
        {"protocol": True, "type": "sync"},
        {"protocol": 2},
        {"protocol": 2, "type": "bogus"},
        {"protocol": 2, "type": "cell"},  # a kernel → browser type
    ],
)
def test_malformed_messages_get_an_error_and_the_kernel_survives(heapscope_kernel, bad):
    comm_id, _ = open_heapscope_comm(heapscope_kernel)
    mark = heapscope_kernel.mark()
    heapscope_kernel.send_comm(comm_id, bad)
    error = heapscope_kernel.wait_comm(comm_id, of_type("error"), after=mark)
    assert validate_outgoing(error) is None and error["message"]

    mark = heapscope_kernel.mark()
    heapscope_kernel.send_comm(comm_id, {"protocol": 2, "type": "sync"})
    assert heapscope_kernel.wait_comm(comm_id, of_type("history"), after=mark)["cells"] == []
    cell = run_cell(heapscope_kernel, comm_id, "ok = 1", "still-works")
    assert cell["status"] == "ok"


def test_malformed_open_data_gets_an_error_and_the_comm_stays_open(heapscope_kernel):
    comm_id = heapscope_kernel.open_comm("heapscope", {"protocol": 2, "type": "nonsense"})
    assert heapscope_kernel.wait_comm(comm_id, of_type("error"))
    assert run_cell(heapscope_kernel, comm_id, "z = 2", "after-bad-open")["status"] == "ok"
    assert not [m for m in heapscope_kernel.iopub if m["msg_type"] == "comm_close"]


def test_plain_python3_kernel_has_no_heapscope_target(python3_kernel):
    comm_id = python3_kernel.open_comm("heapscope", {"protocol": 2, "type": "sync"})
    python3_kernel.wait_comm_closed(comm_id)
    execution = python3_kernel.execute("print(6 * 7)", cell_id="plain")
    assert execution.status == "ok" and execution.stdout == "42\n"
    assert python3_kernel.comm_data(comm_id) == []


def test_agent_loaded_into_a_plain_kernel_reports_why_it_is_inactive(python3_kernel):
    assert python3_kernel.execute("%load_ext heapscope.agent").status == "ok"
    comm_id, history = open_heapscope_comm(python3_kernel)
    assert history["status"]["active"] is False
    assert "not loaded" in history["status"]["reason"]
    assert python3_kernel.execute("q = bytearray(1000)", cell_id="unprofiled").status == "ok"
    mark = python3_kernel.mark()
    python3_kernel.send_comm(comm_id, {"protocol": 2, "type": "sync"})
    later = python3_kernel.wait_comm(comm_id, of_type("history"), after=mark)
    assert later["cells"] == []
    assert_all_valid(python3_kernel, comm_id)


def test_missing_shim_starts_unprofiled_with_a_reason(start_kernel, tmp_path):
    missing = tmp_path / "nowhere" / "libheapscope.so"
    kernel = start_kernel("heapscope", env={"HEAPSCOPE_SHIM_PATH": str(missing)})
    assert kernel.execute("r = sum(range(10))\nprint(r)", cell_id="runs").stdout == "45\n"
    comm_id, history = open_heapscope_comm(kernel)
    status = history["status"]
    assert status["active"] is False
    assert str(missing) in status["reason"] and "unprofiled" in status["reason"]
    assert status["shim_version"] is None
    kernel.execute("s = 1", cell_id="unprofiled")
    assert not [d for d in kernel.comm_data(comm_id) if d["type"] in ("cell", "cell_start")]
    # The reason does not leak into the kernel's children.
    assert kernel.execute("import os; print(os.environ.get('HEAPSCOPE_SHIM_ERROR'))").stdout == "None\n"
    assert_all_valid(kernel, comm_id)


def test_children_do_not_inherit_the_preload(start_kernel):
    kernel = start_kernel("heapscope", env={"LD_PRELOAD": "libm.so.6"})
    maps = kernel.execute("print(open('/proc/self/maps').read().count('libheapscope'))").stdout
    assert int(maps) > 0, "the shim should be mapped in the kernel itself"

    shell = kernel.execute('!echo "preload=[$LD_PRELOAD] enable=[$HEAPSCOPE_ENABLE]"').stdout
    assert shell.strip() == "preload=[libm.so.6] enable=[]", shell
    child = kernel.execute(
        "import subprocess, sys\n"
        "print(subprocess.run([sys.executable, '-c', "
        '\'import os; print(open("/proc/self/maps").read().count("libheapscope"), '
        'os.environ.get("LD_PRELOAD"))\'], capture_output=True, text=True).stdout)'
    ).stdout
    assert child.split() == ["0", "libm.so.6"], child


def test_a_cell_start_goes_out_only_for_a_cell_that_runs_a_while(heapscope_kernel):
    """A Run All of small cells sends one message a cell: a cell that ends within START_AFTER (0.1 s) gets
    no ``cell_start`` (its ``cell`` message says it all, and the browser knows a run without its start);
    a longer one gets its ``cell_start`` before its first ``ticks``, both before its ``cell``."""
    comm_id, _ = open_heapscope_comm(heapscope_kernel)
    for i in range(5):
        run_cell(heapscope_kernel, comm_id, f"small_{i} = list(range({i}))", f"quick-{i}")
    slow = run_cell(heapscope_kernel, comm_id, "import time\nblob = bytearray(50_000_000)\ntime.sleep(0.8)", "slow")
    sent = [d for d in heapscope_kernel.comm_data(comm_id) if d["type"] in ("cell_start", "ticks", "cell")]
    starts = [i for i, d in enumerate(sent) if d["type"] == "cell_start"]
    assert [sent[i]["cell"]["cell_id"] for i in starts] == ["slow"], [sent[i]["cell"] for i in starts]
    ticks = [i for i, d in enumerate(sent) if d["type"] == "ticks" and d["seq"] == slow["seq"]]
    end = next(i for i, d in enumerate(sent) if d["type"] == "cell" and d["cell"]["cell_id"] == "slow")
    assert ticks and starts[0] < ticks[0] and ticks[-1] < end, [d["type"] for d in sent]
    assert sent[starts[0]]["cell"]["start_bytes"] == slow["start_bytes"]
    assert [d["cell"]["cell_id"] for d in sent if d["type"] == "cell"] == [f"quick-{i}" for i in range(5)] + ["slow"]
    assert_all_valid(heapscope_kernel, comm_id)


def test_sync_over_a_subshell_is_answered_while_a_cell_runs(heapscope_kernel):
    """JupyterLab >= 4.4 sends comm messages over a subshell: a reloaded page gets the history (with the
    running cell) at once, not when the cell ends; the handler runs on the subshell's thread."""
    subshell = heapscope_kernel.create_subshell()
    comm_id = heapscope_kernel.open_comm("heapscope", {"protocol": 2, "type": "sync"}, subshell_id=subshell)
    heapscope_kernel.wait_comm(comm_id, of_type("history"))
    run_cell(heapscope_kernel, comm_id, "warm = 1", "warm")  # the agent has now sent from the main shell
    msg_id = heapscope_kernel.start_execute("import time\ntime.sleep(20)", "sleeping")
    heapscope_kernel.wait_comm(comm_id, of_type("cell_start", cell_id="sleeping"))
    for _ in range(3):
        mark, sent = heapscope_kernel.mark(), time.monotonic()
        heapscope_kernel.send_comm(comm_id, {"protocol": 2, "type": "sync"}, subshell_id=subshell)
        history = heapscope_kernel.wait_comm(comm_id, of_type("history"), timeout=10, after=mark)
        assert time.monotonic() - sent < 5
        assert history["running"]["cell_id"] == "sleeping"
        assert [c["cell_id"] for c in history["cells"]] == ["warm"]
    heapscope_kernel.km.interrupt_kernel()
    heapscope_kernel.shell_reply(msg_id)
    assert heapscope_kernel.wait_comm(comm_id, of_type("cell", cell_id="sleeping"))["cell"]["status"] == "interrupted"
    assert_all_valid(heapscope_kernel, comm_id)


def test_debugger_is_available(heapscope_kernel):
    """The kernelspec says ``debugger: true``: the debug adapter must answer in the profiled kernel."""
    seq = iter(range(1, 100))

    def debug(command: str, arguments: dict) -> dict:
        return heapscope_kernel.control(
            "debug_request", {"type": "request", "seq": next(seq), "command": command, "arguments": arguments}
        )

    init = debug(
        "initialize",
        {
            "clientID": "heapscope-tests",
            "adapterID": "python",
            "pathFormat": "path",
            "linesStartAt1": True,
            "columnsStartAt1": True,
        },
    )
    assert init.get("success") is True, init
    info = debug("debugInfo", {})
    assert info.get("success") is True and info["body"]["hashMethod"] == "Murmur2", info
    attach = debug("attach", {})
    assert attach.get("success") is True, attach
    assert heapscope_kernel.execute("w = 3\nprint(w)", cell_id="debugged").stdout == "3\n"
