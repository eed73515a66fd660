"""What the agent tells the browser about the kernel stays true: the status after every cell, the mode of
each run, retained memory that adds up to the heap, interrupts and failures during the agent's own
end-of-cell work, its warnings kept out of cells, and the mode kept in memory only. Real kernels."""

from __future__ import annotations

import os
import time

from heapscope.agent.protocol import PROTOCOL_VERSION as V
from heapscope.agent.protocol import validate_outgoing
from kernel_session import KernelSession, of_type

SYNC = {"protocol": V, "type": "sync"}


def open_comm(kernel: KernelSession) -> tuple:
    comm_id = kernel.open_comm("heapscope", SYNC)
    return comm_id, kernel.wait_comm(comm_id, of_type("history"))


def run_cell(kernel: KernelSession, comm_id: str, code: str, cell_id: str) -> dict:
    mark = kernel.mark()
    assert kernel.execute(code, cell_id=cell_id).status == "ok", code
    return kernel.wait_comm(comm_id, of_type("cell", cell_id=cell_id), after=mark)["cell"]


def test_status_is_current_after_every_cell_and_each_run_has_its_mode(heapscope_kernel):
    comm_id, _ = open_comm(heapscope_kernel)
    for n, size in enumerate((50_000_000, 150_000_000)):
        mark = heapscope_kernel.mark()
        cell = run_cell(heapscope_kernel, comm_id, f"b{n} = bytearray({size})", f"grow{n}")
        status = heapscope_kernel.wait_comm(comm_id, of_type("status"), after=mark)["status"]
        # The heap the panel and an exported report show is the one after this cell, not at comm open.
        assert abs(status["current_bytes"] - cell["end_bytes"]) < 5_000_000, (status, cell)
        assert (
            status["profiler_bytes"] > 0
            and validate_outgoing({"protocol": V, "type": "status", "status": status}) is None
        )
        assert cell["mode"] == "default"

    heapscope_kernel.send_comm(comm_id, {"protocol": V, "type": "configure", "mode": "exact"})
    exact = run_cell(heapscope_kernel, comm_id, "e = bytearray(1000)", "in-exact")
    assert exact["mode"] == "exact"
    mark = heapscope_kernel.mark()
    heapscope_kernel.send_comm(comm_id, SYNC)
    history = heapscope_kernel.wait_comm(comm_id, of_type("history"), after=mark)
    assert [c["mode"] for c in history["cells"]] == ["default", "default", "exact"]
    assert history["status"]["mode"] == "exact"


def test_retained_by_cell_adds_up_to_the_heap(heapscope_kernel):
    comm_id, _ = open_comm(heapscope_kernel)
    run_cell(heapscope_kernel, comm_id, "import numpy as np", "imports")
    run_cell(heapscope_kernel, comm_id, "a = np.ones(10_000_000)", "array")
    run_cell(heapscope_kernel, comm_id, "s = [str(i) for i in range(200_000)]", "strings")
    for _ in range(2):
        mark = heapscope_kernel.mark()
        heapscope_kernel.send_comm(comm_id, SYNC)
        history = heapscope_kernel.wait_comm(comm_id, of_type("history"), after=mark)
        entries, current = history["retained_by_cell"], history["status"]["current_bytes"]
        total = sum(e["bytes"] for e in entries)
        # The status is read a moment before the walk of the live heap; between the two the agent only
        # builds this message (well below 2 MB). Sampled estimates of small blocks may over-count a little
        # in default mode: 2% of the heap.
        assert abs(total - current) <= 2_000_000 + 0.02 * current, (total, current)
        outside = [e for e in entries if e["seq"] is None]
        assert len(outside) == 1 and outside[0]["bytes"] >= 20_000_000, outside  # the kernel's start-up
        assert any(s["file"] == "<before profiling>" for s in outside[0]["sites"])
        array = next(e for e in entries if e["cell_id"] == "array")
        assert 79_000_000 <= array["bytes"] <= 82_000_000, array
        assert validate_outgoing(history) is None


def test_interrupts_during_the_cell_close_leave_no_cell_running(start_kernel):
    """Ctrl-C pressed just as a cell ends lands in the agent's end-of-cell work (longest in exact mode
    with many live blocks). Later cells must still close, and still have line-level sites."""
    kernel = start_kernel("heapscope", env={"HEAPSCOPE_MODE": "exact"})
    comm_id, _ = open_comm(kernel)
    run_cell(kernel, comm_id, "keep = [bytearray(64) for _ in range(300_000)]", "many-blocks")
    for n in range(40):
        msg_id = kernel.start_execute(
            f"x{n} = [bytearray(64) for _ in range(30_000)]\nprint('end', flush=True)", f"tried-{n}"
        )
        kernel.pump(lambda m, i=msg_id: m["parent_header"].get("msg_id") == i and m["msg_type"] == "stream")
        time.sleep((n % 10) * 0.004)  # from just after the cell's last line to well into the close
        kernel.km.interrupt_kernel()
        try:
            kernel.shell_reply(msg_id, timeout=5)
        except TimeoutError:
            pass  # ipykernel itself loses the reply when the interrupt lands after the cell (also unprofiled)
    mark = kernel.mark()
    kernel.send_comm(comm_id, SYNC)
    history = kernel.wait_comm(comm_id, of_type("history"), after=mark)
    assert history["running"] is None, history["running"]
    assert history["status"]["attribution"] is True
    after = run_cell(kernel, comm_id, "late = bytearray(20_000_000)", "after-interrupts")
    assert after["top_at_peak"] and after["top_at_peak"][0]["cell_id"] == "after-interrupts", after
    assert after["top_at_peak"][0]["cell_line"] == 1
    starts = {d["cell"]["seq"] for d in kernel.comm_data(comm_id) if d.get("type") == "cell_start"}
    ends = {d["cell"]["seq"] for d in kernel.comm_data(comm_id) if d.get("type") == "cell"}
    assert starts <= ends, sorted(starts - ends)


def test_agent_warnings_stay_out_of_cell_output(start_kernel):
    kernel = start_kernel("heapscope", env={"HEAPSCOPE_MODE": "bogus"})  # warned about at load
    comm_id, history = open_comm(kernel)
    assert any("HEAPSCOPE_MODE" in w for w in history["status"]["warnings"]), history["status"]
    code = (
        "import logging\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    logging.getLogger('heapscope.agent').error('heapscope: probe error', exc_info=True)\n"
        "print('done')"
    )
    mark = kernel.mark()
    execution = kernel.execute(code, cell_id="warns")
    kernel.wait_comm(comm_id, of_type("cell", cell_id="warns"), after=mark)
    status = kernel.wait_comm(comm_id, of_type("status"), after=mark)["status"]
    assert any("probe error" in w for w in status["warnings"]), status
    time.sleep(1)  # ipykernel forwards captured stderr from a thread: give it time to show up
    kernel.execute("pass", cell_id="later")
    outputs = [m for m in kernel.iopub if m["msg_type"] in ("stream", "error", "display_data", "execute_result")]
    texts = "".join(str(m["content"]) for m in outputs)
    assert "heapscope" not in texts and "HEAPSCOPE" not in texts and "ZeroDivisionError" not in texts, texts
    assert execution.stdout == "done\n"


def test_the_mode_travels_over_the_protocol_and_no_file_keeps_it(installed, tmp_path):
    """The mode the panel asks for lives in the kernel's memory only (issue 15: on a container gateway a
    restart is a new container): no file beside the connection file (a link planted there is never
    written through) nor in heapscope's runtime folder. After a restart the kernel starts in its
    environment's mode, and the panel's `configure` on the new comm switches it again."""
    kernel = KernelSession("heapscope")
    try:
        connection_file = kernel.km.connection_file
        victim = tmp_path / "victim.txt"
        victim.write_text("precious\n")
        planted = connection_file + ".heapscope-mode"
        os.symlink(victim, planted)
        folder = kernel.evaluate("str(__import__('heapscope.files', fromlist=['runtime_dir']).runtime_dir())")
        files_before = set(os.listdir(folder))
        comm_id, _ = open_comm(kernel)
        kernel.send_comm(comm_id, {"protocol": V, "type": "configure", "mode": "exact"})
        assert run_cell(kernel, comm_id, "x = 1", "switch")["mode"] == "exact"
        assert victim.read_text() == "precious\n"
        assert not [n for n in set(os.listdir(folder)) - files_before if n.startswith("mode-")]

        kernel.km.restart_kernel(now=False)
        kernel.kc.wait_for_ready(timeout=60)
        comm_id, history = open_comm(kernel)
        assert history["status"]["mode"] == "default"  # nothing kept it on the kernel's side
        kernel.send_comm(comm_id, {"protocol": V, "type": "configure", "mode": "exact"})
        assert run_cell(kernel, comm_id, "y = 1", "again")["mode"] == "exact"
        assert victim.read_text() == "precious\n"
    finally:
        os.unlink(planted)
        kernel.close()


def test_the_agents_own_records_are_profiler_memory_not_the_heap(start_kernel):
    """The agent's records, site lists and messages, made between one cell's end and the next cell's start,
    are profiler memory (the shim's agent bytes, part of profiler_bytes), not the heap the cells are measured
    on. Exact mode, where the records are largest."""
    kernel = start_kernel("heapscope", env={"HEAPSCOPE_MODE": "exact"})
    comm_id, _ = open_comm(kernel)
    stats = "__import__('heapscope._bridge')._bridge.stats()"
    for i in range(20):
        run_cell(kernel, comm_id, f"x_{i} = {i}", f"t{i}")
    before = kernel.evaluate(f"{stats}['agent_bytes']")
    for i in range(20, 120):
        run_cell(kernel, comm_id, f"x_{i} = {i}", f"t{i}")
    after = kernel.evaluate(f"{stats}")
    # Each kept record with its sites is kilobytes in exact mode; without the marker it would be 0 here.
    assert after["agent_bytes"] - before > 100 * 4_000, (before, after)
    assert after["profiler_bytes"] >= after["agent_bytes"], after
