"""The memory guard under a real limit (issue 12): a memory cgroup made for the kernel (cgroup v1 or v2,
whichever is writable; removed after), else RLIMIT_AS set inside the kernel.

- a cell that grows to twice the limit is stopped with MemoryError (allocations that fail: np.ones,
  np.empty, a list of growing arrays), the kernel stays alive, earlier variables are intact and the
  next cell runs; its run has status `guard` and a `guard_stop`;
- growth the guard cannot refuse (pages of a mapping the shim never saw, touched one by one) is
  interrupted (KeyboardInterrupt) when usage crosses the hard threshold;
- with the guard off the kernel is killed, and the next kernel for the same notebook shows the dead run
  with status `killed` and a `post_mortem` naming the cell and the line.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid

import pytest

from heapscope.agent.protocol import PROTOCOL_VERSION as V
from kernel_session import of_type

LIMIT = 600 * 1024 * 1024
MB = 1024 * 1024


def _cgroup_v1_root():
    root = "/sys/fs/cgroup/memory"
    return root if os.access(os.path.join(root, "cgroup.procs"), os.W_OK) else None


def _cgroup_v2_root():
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        ctl = os.path.join(root, "cgroup.subtree_control")
        try:
            with open(ctl) as f:
                controllers = f.read()
            if "memory" in controllers and os.access(os.path.join(root, "cgroup.procs"), os.W_OK):
                return root
        except OSError:
            pass
    return None


class Cgroup:
    """A memory cgroup with LIMIT (v1: limit_in_bytes and memsw; v2: memory.max, swap.max 0)."""

    def __init__(self):
        self.path = None
        v1, v2 = _cgroup_v1_root(), _cgroup_v2_root()
        name = f"heapscope-test-{uuid.uuid4().hex[:12]}"
        if v1 is not None:
            self.parent = v1
            self.path = os.path.join(v1, name)
            os.mkdir(self.path)
            self._write("memory.limit_in_bytes", LIMIT)
            try:
                self._write("memory.memsw.limit_in_bytes", LIMIT)
            except OSError:
                pass
        elif v2 is not None:
            self.parent = v2
            self.path = os.path.join(v2, name)
            os.mkdir(self.path)
            self._write("memory.max", LIMIT)
            try:
                self._write("memory.swap.max", 0)
            except OSError:
                pass

    def _write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(str(value))

    def add(self, pid: int) -> None:
        self._write("cgroup.procs", pid)

    def remove(self) -> None:
        if self.path is None:
            return
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                pids = f.read().split()
            for pid in pids:
                with open(os.path.join(self.parent, "cgroup.procs"), "w") as f:
                    f.write(pid)
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)


@pytest.fixture
def limited(start_kernel, tmp_path):
    """start(env) -> a kernel under LIMIT (a cgroup when one can be made, else RLIMIT_AS)."""
    made = []

    def start(env=None):
        env = {"HEAPSCOPE_RUNTIME_DIR": str(tmp_path / "runtime"), **(env or {})}
        kernel = start_kernel(env=env)
        group = Cgroup()
        made.append(group)
        pid = kernel.evaluate("__import__('os').getpid()")
        if group.path is not None:
            group.add(int(pid))
            kernel.limit_source = "cgroup_v1" if group.parent.endswith("/memory") else "cgroup"
        else:
            print("no writable memory cgroup (v1 or v2): falling back to RLIMIT_AS")
            kernel.execute(
                "import resource, os\n"
                "_vm = int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE')\n"
                f"resource.setrlimit(resource.RLIMIT_AS, (_vm + {LIMIT}, resource.RLIM_INFINITY))\n"
            )
            kernel.limit_source = "rlimit_as"
        kernel.group = group
        return kernel

    yield start
    for group in made:
        group.remove()


def _cell(kernel, comm_id, cell_id, mark):
    return kernel.wait_comm(comm_id, of_type("cell", cell_id=cell_id), after=mark, timeout=120)["cell"]


def _sync(kernel):
    comm_id = kernel.open_comm("heapscope", {"protocol": V, "type": "sync"})
    return comm_id, kernel.wait_comm(comm_id, of_type("history"))


GROW_ONES = "hold = []\nwhile True:\n    hold.append(np.ones(10_000_000))\n"
RAW_MMAP = (
    "import ctypes\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "libc.syscall.restype = ctypes.c_long\n"
    "n = 2 * {limit}\n"
    "addr = libc.syscall(9, 0, ctypes.c_size_t(n), 3, 0x22, -1, 0)  # SYS_mmap behind the shim's back\n"
    "assert addr > 0\n"
    "import time\n"
    "addrs = [addr + off for off in range(0, n, 1 << 20)]\n"
    "for a in addrs:\n"
    "    ctypes.memset(a, 1, 1 << 20)\n"
    "    time.sleep(0.004)  # ~250 MB/s: the 5 % window of a 600 MiB limit lasts ~4 ticks (20 Hz)\n"
)


FREE = (
    "hold = big = addrs = None\n"
    "import sys; sys.last_traceback = sys.last_value = None\n"
    "if 'addr' in globals():\n"
    "    libc.syscall(11, ctypes.c_long(addr), ctypes.c_size_t(n))  # SYS_munmap\n"
    "    del addr\n"
)


def test_guard_stops_cells_and_the_kernel_survives(limited):
    kernel = limited()
    comm_id, _ = _sync(kernel)
    assert kernel.execute("import numpy as np\nkeep = np.arange(1000)\n", cell_id="setup").status == "ok"
    mark = kernel.mark()
    kernel.send_comm(comm_id, {"protocol": V, "type": "sync"})
    status = kernel.wait_comm(comm_id, of_type("history"), after=mark)["status"]
    assert status["memory_limit"] == {"bytes": LIMIT, "source": kernel.limit_source}
    assert status["guard"]["on"] is True and status["guard"]["hard"] == 0.95

    cases = [
        ("ones", f"big = np.ones({2 * LIMIT // 8})\n", "MemoryError", "refused"),
        ("empty", f"big = np.empty({2 * LIMIT // 8})\nbig.fill(1)\n", "MemoryError", "refused"),
        ("grow", GROW_ONES, "MemoryError", "refused"),
    ]
    if kernel.limit_source != "rlimit_as":  # RLIMIT_AS refuses a raw mmap itself
        # the first allocation after usage crossed the threshold fails, or the ticker interrupts the loop
        cases.append(("pagefault", RAW_MMAP.format(limit=LIMIT), None, None))
    for name, code, ename, how in cases:
        mark = kernel.mark()
        execution = kernel.execute(code, cell_id=name, timeout=120)
        assert execution.status == "error", (name, execution.reply)
        ename_how = {"MemoryError": "refused", "KeyboardInterrupt": "interrupted"}
        assert execution.reply["ename"] == ename if ename else execution.reply["ename"] in ename_how, execution.reply
        how = how or ename_how[execution.reply["ename"]]
        kernel.execute(FREE, cell_id=f"free-{name}")
        run = _cell(kernel, comm_id, name, mark)
        assert run["status"] == "guard", (name, run)
        stop = run["guard_stop"]
        assert stop["how"] == how and stop["limit_bytes"] == LIMIT, (name, stop)
        _check_stop_message(stop)
        assert stop["usage_bytes"] >= 0.95 * LIMIT * (0.9 if how == "interrupted" else 1)
        assert run["rss_peak_bytes"] >= run["rss_start_bytes"] > 0 and run["rss_end_bytes"] > 0
        after = kernel.execute("print(int(keep.sum()))", cell_id=f"after-{name}")
        assert after.stdout == "499500\n", name  # earlier variables intact, the next cell runs
    assert kernel.km.is_alive()


CHILD_GROWS = (
    "import subprocess, sys\n"
    "usage = int(open(USAGE).read())\n"
    "grow = ('import time\\nhold = []\\nfor _ in range({steps}):\\n'\n"
    "        '    hold.append(bytearray(5_000_000)); time.sleep(0.05)\\ntime.sleep(60)\\n')\n"
    "child = subprocess.Popen([sys.executable, '-c', grow.format(steps=int(({limit} * 0.975 - usage) / 5_000_000))])\n"
    "try:\n"
    "    child.wait()\n"
    "finally:\n"
    "    child.kill()\n"
    "    child.wait()\n"
)


def test_usage_over_the_threshold_that_no_allocation_crosses_interrupts_the_cell(limited):
    """Memory the guard cannot refuse (here a child process charged to the same cgroup): the ticker
    sees the usage over the hard threshold and interrupts the run once."""
    kernel = limited()
    if kernel.limit_source == "rlimit_as":
        pytest.skip("needs a cgroup: RLIMIT_AS does not count a child's memory")
    comm_id, _ = _sync(kernel)
    usage = os.path.join(
        kernel.group.path, "memory.usage_in_bytes" if kernel.limit_source == "cgroup_v1" else "memory.current"
    )
    kernel.execute(f"USAGE = {usage!r}\nkeep = 7\n", cell_id="setup")
    mark = kernel.mark()
    execution = kernel.execute(
        CHILD_GROWS.replace("{limit}", str(LIMIT)).replace("{steps}", "{steps}"), cell_id="child", timeout=120
    )
    # The ticker's interrupt stops the wait; the cell's clean-up (killing the child) then allocates while
    # usage is still over the threshold, and the guard may refuse that too: MemoryError replaces the
    # KeyboardInterrupt. Either way the guard stopped the run, and the kernel lives on.
    assert execution.status == "error", execution.reply
    assert execution.reply["ename"] in ("KeyboardInterrupt", "MemoryError"), execution.reply
    run = _cell(kernel, comm_id, "child", mark)
    assert run["status"] == "guard" and run["guard_stop"]["how"] in ("interrupted", "refused"), run
    assert run["guard_stop"]["usage_bytes"] > 0.95 * LIMIT
    assert kernel.execute("print(keep)", cell_id="after").stdout == "7\n"
    # once per run: the next run is guarded again, and a quiet one is not stopped
    mark = kernel.mark()
    assert kernel.execute("x = 1", cell_id="quiet").status == "ok"
    assert _cell(kernel, comm_id, "quiet", mark)["status"] == "ok"


def test_guard_off_the_kernel_dies_and_the_next_kernel_shows_the_post_mortem(limited):
    kernel = limited({"HEAPSCOPE_GUARD": "off"})
    if kernel.limit_source == "rlimit_as":
        pytest.skip("RLIMIT_AS makes allocations fail instead of killing the kernel: no post-mortem to test")
    comm_id, _ = _sync(kernel)
    assert kernel.execute("import numpy as np, time\nkeep = 1\n", cell_id="setup").status == "ok"
    mark = kernel.mark()
    kernel.send_comm(comm_id, {"protocol": V, "type": "sync"})
    status = kernel.wait_comm(comm_id, of_type("history"), after=mark)["status"]
    assert status["guard"]["on"] is False and status["guard"]["reason"] == "switched off"
    # grows by 20 MB every 0.1 s: the snapshot (every second) sees it above half the limit before the end
    grow = "hold = []\nwhile True:\n    hold.append(np.ones(2_500_000))\n    time.sleep(0.1)\n"
    kernel.start_execute(grow, cell_id="doomed")
    deadline = time.time() + 120
    while kernel.km.is_alive() and time.time() < deadline:
        time.sleep(0.5)
    assert not kernel.km.is_alive(), "the cgroup did not kill the kernel"
    kernel.km.restart_kernel(now=True)
    kernel.kc.wait_for_ready(timeout=60)
    comm_id, history = _sync(kernel)
    runs = history["cells"]
    assert [r["cell_id"] for r in runs] == ["setup", "doomed"], runs
    dead = runs[-1]
    assert dead["status"] == "killed"
    post = dead["post_mortem"]
    assert post["cause"] == "oom_kill", post  # the cgroup's oom_kill count went up
    assert post["heap_bytes"] > LIMIT / 2 and post["rss_bytes"] > LIMIT / 2
    lines = [(s["cell_id"], s["cell_line"]) for s in post["top_at_peak"]]
    assert ("doomed", 3) in lines, post["top_at_peak"]  # hold.append(np.ones(...))


def _report_in_cgroup(tmp_path, sources, *args):
    """`heapscope report` started inside a fresh memory cgroup (its kernel inherits it)."""
    import subprocess

    from heapscope.agent.protocol import validate_report
    from kernel_session import scrubbed_environ
    from test_report import HEAPSCOPE, notebook, report  # noqa: F401  (report: the schema check)

    group = Cgroup()
    if group.path is None:
        pytest.skip("no writable memory cgroup (v1 or v2) to run `heapscope report` in")
    try:
        path, _ = notebook(tmp_path, sources)
        out = tmp_path / "report.json"
        run = subprocess.run(
            [str(HEAPSCOPE), "report", str(path), "--json", str(out), *args],
            env={**scrubbed_environ(), "HEAPSCOPE_RUNTIME_DIR": str(tmp_path / "runtime")},
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=lambda: group.add(os.getpid()),
        )
    finally:
        group.remove()
    data = json.loads(out.read_text()) if out.exists() else None
    assert data is not None, run.stderr
    assert validate_report(data) is None, validate_report(data)
    return run, data


SLOW_GROWTH = "hold = []\nwhile True:\n    hold.append(np.ones(2_500_000))\n    time.sleep(0.1)\n"


def test_report_guard_off_writes_the_killed_cell_with_its_post_mortem(installed, tmp_path):
    run, data = _report_in_cgroup(tmp_path, ["import numpy as np, time", SLOW_GROWTH, "never = 1"], "--guard", "off")
    assert run.returncode == 1, run.stderr
    assert "the kernel died while running cell 2/3: killed" in run.stderr, run.stderr
    assert [c["index"] for c in data["cells"]] == [1, 2]
    dead = data["cells"][-1]
    assert dead["status"] == "killed" and data["outcome"]["failed_cell"]["index"] == 2
    post = dead["post_mortem"]
    assert post["cause"] in ("oom_kill", "signal_near_limit") and post["heap_bytes"] > LIMIT / 2
    assert any(site["cell_line"] == 3 for site in post["top_at_peak"]), post["top_at_peak"]
    assert data["memory_limit"]["bytes"] == LIMIT


def _check_stop_message(stop: dict) -> None:
    """'stopped by heapscope at X of 629.1 MB', and for a refused allocation the request: X is the usage
    before it (under the limit), not what the request would have brought usage to."""
    m = re.fullmatch(
        r"stopped by heapscope at ([\d.]+) (B|kB|MB|GB) of 629\.1 MB(: a request for [\d.]+ (?:B|kB|MB|GB) more was refused)?",
        stop["message"],
    )
    assert m is not None, stop
    assert bool(m.group(3)) == (stop["how"] == "refused"), stop
    at = float(m.group(1)) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m.group(2)]
    if stop["how"] == "refused":
        assert at <= LIMIT and at == pytest.approx(stop["usage_bytes"] - stop["request_bytes"], rel=0.01, abs=1e5), stop


def test_report_guard_on_stops_the_cell_and_the_kernel_lives(installed, tmp_path):
    run, data = _report_in_cgroup(tmp_path, ["import numpy as np", GROW_ONES, "never = 1"])
    assert run.returncode == 1, run.stderr
    assert "MemoryError" in run.stderr
    stopped = [c for c in data["cells"] if c["index"] == 2]
    assert [c["status"] for c in stopped] == ["guard"]
    _check_stop_message(stopped[0]["guard_stop"])
    assert data["memory_limit"] == {"bytes": LIMIT, "source": data["memory_limit"]["source"]}


def test_soft_threshold_warns_and_release_memory_gives_rss_back(limited):
    kernel = limited({"HEAPSCOPE_GUARD_SOFT": "0.3"})
    comm_id, _ = _sync(kernel)
    kernel.execute("import numpy as np, time\n", cell_id="setup")
    mark = kernel.mark()
    # 250 MB of 600 MiB, held for 2 s: the guard's thread (once a second) sees it over 30 %
    assert kernel.execute("big = np.ones(31_250_000)\ntime.sleep(2)\n", cell_id="big").status == "ok"
    warned = kernel.wait_comm(
        comm_id,
        lambda d: d.get("type") == "status" and (d["status"].get("memory_warning") or {}).get("level") == "soft",
        after=mark,
    )["status"]["memory_warning"]
    assert warned["cell_id"] == "big" and warned["limit_bytes"] == LIMIT and 0.3 < warned["fraction"] < 0.95
    assert warned["message"].startswith(f"cell [{warned['execution_count']}] is at ")
    assert warned["message"].endswith(f" % of the 629.1 MB limit ({kernel.limit_source})")
    run = _cell(kernel, comm_id, "big", mark)
    assert run["status"] == "ok" and run["rss_peak_bytes"] - run["rss_start_bytes"] > 200_000_000
    # freed small blocks stay in the allocator's arena (RSS) until malloc_trim gives them back
    kernel.execute(
        "del big\nxs = [bytearray(1000) for _ in range(200_000)]\nkeep = xs[::200]\ndel xs\n", cell_id="frag"
    )
    mark = kernel.mark()
    kernel.send_comm(comm_id, {"protocol": V, "type": "release_memory"})
    released = kernel.wait_comm(
        comm_id, lambda d: d.get("type") == "status" and d["status"].get("released"), after=mark
    )["status"]["released"]
    assert released["rss_before_bytes"] - released["rss_after_bytes"] == released["released_bytes"] > 50_000_000


def test_threads_a_cell_starts_are_guarded_too(limited):
    kernel = limited()
    comm_id, _ = _sync(kernel)
    kernel.execute("import numpy as np, threading\n", cell_id="setup")
    code = (
        "caught = []\n"
        "def work():\n"
        "    try:\n"
        f"        np.ones({2 * LIMIT // 8})\n"
        "    except MemoryError as exc:\n"
        "        caught.append(exc)\n"
        "t = threading.Thread(target=work)\n"
        "t.start()\n"
        "t.join()\n"
        "print(len(caught))\n"
    )
    mark = kernel.mark()
    execution = kernel.execute(code, cell_id="thread")
    assert execution.stdout == "1\n"  # refused in the thread the cell started; without the guard: OOM kill
    run = _cell(kernel, comm_id, "thread", mark)
    assert run["status"] == "ok"  # the cell caught it and went on: no stop to report
    assert kernel.km.is_alive()
