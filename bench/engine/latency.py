"""Time from a cell's end to its ledger being available, in a real kernel driven through jupyter_client.

One kernel per configuration (``heapscope`` with ``HEAPSCOPE_MODE=exact`` / ``default``, and the plain
``python3`` kernel as the baseline for the reply path). The client opens the ``heapscope`` comm with
``sync`` (docs/protocol.md), runs set-up cells, then each cell kind ``warmup + reps`` times.

Clocks (kernel and client are on the same machine, so ``time.time()`` is one clock):
- ``t_end``: the cell's last statement stores ``time.time()``; read back through the same execute
  request's ``user_expressions`` (evaluated after the cell and its post_run_cell hooks, before the reply).
- ``ended_at``: the agent's own time stamp in the CellRun, taken after it closed the engine run_id and
  resolved the cell's sites (``Agent.on_cell_end``), just before it sends the ``cell`` message.
- ``sent``: the ``cell`` comm message's header ``date`` (kernel side, when it was serialised).
- arrivals: the client's ``time.time()`` when each message came off its socket. One thread polls the shell
  and IOPub sockets together, so no message waits behind another channel's read.

Reported per cell kind: ledger at the client (cell arrival - t_end), agent close (ended_at - t_end),
kernel -> client transit (arrival - sent), and execute_reply / idle arrival minus cell arrival (negative:
the ledger was there before the reply; the agent sends it from post_run_cell, before the reply). The
``python3`` kernel gives the reply latency without heapscope (reply arrival - t_end).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import zmq
from jupyter_client.manager import KernelManager

TIMEOUT = 600.0
_SCRUBBED = (
    "HEAPSCOPE_SHIM_PATH",
    "HEAPSCOPE_ENABLE",
    "HEAPSCOPE_SHIM_ERROR",
    "HEAPSCOPE_MODE",
    "HEAPSCOPE_ATTRIBUTION",
    "LD_PRELOAD",
    "PYTHONPATH",
)

SETUP = [
    "import time as _hs_time\nimport numpy as np",
    # a function defined in one cell and called (recursively) from another: 400 frames deep, allocating
    # at every level, so every allocation's stack is max_depth frames long
    "def _hs_deep(n):\n"
    "    if n == 0:\n"
    "        return [bytearray(1000) for _ in range(100)]\n"
    "    keep = [(n, i, str(i)) for i in range(20)]\n"
    "    return _hs_deep(n - 1) + keep\n",
    # 2,000 distinct functions (2,000 distinct allocation sites) for the many_sites kind
    "_hs_ns = {}\n"
    "exec('\\n'.join(f'def f{i}():\\n    return [[{i}] * 3 for _ in range(50)]' for i in range(2000)), _hs_ns)\n"
    "_hs_funcs = [_hs_ns[f'f{i}'] for i in range(2000)]\n",
]

#: name -> (what it is, cell source before the time stamp line)
KINDS: Dict[str, tuple] = {
    "tiny": ("`x = 1`", "x = 1"),
    "dicts_1M": ("1 M small dicts, kept", "d = [{'k': i} for i in range(1_000_000)]"),
    "numpy_200MB": ("one 200 MB numpy array, kept", "a = np.ones(25_000_000)"),
    "deep_stack": ("400-deep recursion, 8,000 tuples + 100 bytearrays", "r = _hs_deep(400)"),
    "many_sites": ("2,000 distinct allocating functions, kept", "m = [f() for f in _hs_funcs]"),
    # the same tiny cell again, with everything the kinds above kept still alive: in exact mode closing a
    # cell visits every stack alive in the process, not only the cell's own
    "tiny_again": ("`x = 1` after the others (their objects alive)", "x = 1"),
}


STATS_EXPR = (
    "{k: v for k, v in __import__('heapscope._bridge')._bridge.stats().items() "
    "if k in ('tracked_blocks', 'profiler_bytes', 'stack_nodes', 'mode')}"
)


def _env(base: Dict[str, str], mode: Optional[str]) -> Dict[str, str]:
    env = {k: v for k, v in base.items() if k not in _SCRUBBED}
    if mode:
        env["HEAPSCOPE_MODE"] = mode
    return env


class Client:
    """A kernel and a client that stamps every shell/IOPub message with its arrival time."""

    def __init__(self, kernel_name: str, env: Dict[str, str]):
        self.km = KernelManager(kernel_name=kernel_name)
        # the kernel's stderr goes to a file: quiet output, and its last lines explain a kernel that died.
        # It lives as long as the kernel (no `with` can hold it): close() closes and removes it.
        self.stderr = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="heapscope-bench-kernel-", suffix=".log", delete=False
        )
        self.km.start_kernel(env=env, stderr=self.stderr)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.poller = zmq.Poller()
        self.channels = {
            self.kc.shell_channel.socket: ("shell", self.kc.shell_channel),
            self.kc.iopub_channel.socket: ("iopub", self.kc.iopub_channel),
        }
        for sock in self.channels:
            self.poller.register(sock, zmq.POLLIN)
        self.log: List[tuple] = []  # (arrival time, channel, msg)

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            try:
                self.km.shutdown_kernel(now=True)
            finally:
                self.stderr.close()
                os.unlink(self.stderr.name)

    def death(self) -> str:
        """Why the kernel died: its exit status and the last lines of its stderr."""
        code = None
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        if proc is not None:
            code = proc.poll()
        self.stderr.flush()
        lines = [
            ln
            for ln in Path(self.stderr.name).read_text(errors="replace").splitlines()
            if ln.strip() and "Kernel is running over TCP" not in ln
        ]
        return f"the kernel died (exit {code}); stderr: {' | '.join(lines[-4:])[-600:] or '(empty)'}"

    def _pump(self, timeout: float = 1.0) -> None:
        for sock, _ in self.poller.poll(timeout * 1000):
            name, channel = self.channels[sock]
            while channel.msg_ready():
                msg = channel.get_msg(timeout=0)
                self.log.append((time.time(), name, msg))

    def wait(self, pred, timeout: float = TIMEOUT, after: int = 0) -> tuple:
        deadline = time.monotonic() + timeout
        i = after
        while True:
            while i < len(self.log):
                if pred(self.log[i]):
                    return self.log[i]
                i += 1
            if time.monotonic() > deadline:
                raise TimeoutError("no matching message in time")
            if not self.km.is_alive():
                raise RuntimeError(self.death())
            self._pump()

    def send(self, msg_type: str, content: Dict[str, Any], metadata: Optional[Dict[str, Any]] = None) -> str:
        msg = self.kc.session.msg(msg_type, content, metadata=metadata or {})
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def execute(self, code: str, user_expressions: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
        """Run a cell; returns its messages once the reply and the idle status have both arrived."""
        mark = len(self.log)
        msg_id = self.send(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": user_expressions or {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            {"cellId": uuid.uuid4().hex[:8]},
        )
        mine = lambda e: e[2]["parent_header"].get("msg_id") == msg_id  # noqa: E731
        reply = self.wait(lambda e: e[1] == "shell" and mine(e), after=mark)
        idle = self.wait(
            lambda e: (
                e[1] == "iopub"
                and mine(e)
                and e[2]["msg_type"] == "status"
                and e[2]["content"]["execution_state"] == "idle"
            ),
            after=mark,
        )
        if reply[2]["content"]["status"] != "ok":
            c = reply[2]["content"]
            raise RuntimeError(f"cell failed: {c.get('ename')}: {c.get('evalue')}")
        return {"msg_id": msg_id, "reply": reply, "idle": idle, "mark": mark}

    def evaluate(self, expression: str) -> Any:
        """A Python literal from the kernel (silent execute: no cell hooks, no ledger entry)."""
        import ast

        mark = len(self.log)
        msg_id = self.send(
            "execute_request",
            {
                "code": "",
                "silent": True,
                "store_history": False,
                "user_expressions": {"v": expression},
                "allow_stdin": False,
                "stop_on_error": False,
            },
        )
        reply = self.wait(lambda e: e[1] == "shell" and e[2]["parent_header"].get("msg_id") == msg_id, after=mark)
        value = reply[2]["content"]["user_expressions"]["v"]
        if value.get("status") != "ok":
            raise RuntimeError(f"{expression!r}: {value.get('ename')}: {value.get('evalue')}")
        return ast.literal_eval(value["data"]["text/plain"])


def _comm_data(entry: tuple) -> Optional[dict]:
    msg = entry[2]
    if entry[1] == "iopub" and msg["msg_type"] == "comm_msg":
        return msg["content"].get("data")
    return None


def run_config(
    kernel: str, mode: Optional[str], kinds: List[str], reps: int, warmup: int, base_env: Dict[str, str], say
) -> Dict[str, Any]:
    """All cell kinds ``warmup + reps`` times in one kernel; per-run timings."""
    client = Client(kernel, _env(base_env, mode))
    out: Dict[str, Any] = {"kernel": kernel, "mode": mode, "runs": {k: [] for k in kinds}}
    try:
        comm_id = None
        if kernel != "python3":
            comm_id = uuid.uuid4().hex
            mark = len(client.log)
            client.send(
                "comm_open", {"comm_id": comm_id, "target_name": "heapscope", "data": {"protocol": 2, "type": "sync"}}
            )
            hist = client.wait(lambda e: (_comm_data(e) or {}).get("type") == "history", timeout=60, after=mark)
            status = _comm_data(hist)["status"]
            out["status"] = {
                k: status.get(k)
                for k in (
                    "active",
                    "mode",
                    "attribution",
                    "attribution_reason",
                    "shim_version",
                    "python",
                    "tick_hz",
                    "top_n",
                )
            }
            if not status.get("active") or not status.get("attribution"):
                raise RuntimeError(f"heapscope kernel not profiling with attribution: {out['status']}")
        for code in SETUP:
            client.execute(code)
        if kernel != "python3":
            out["bridge_mode"] = client.evaluate("__import__('heapscope._bridge')._bridge.stats()['mode']")
        out["engine_before"] = {}
        for kind in kinds:
            if kernel != "python3":
                out["engine_before"][kind] = client.evaluate(STATS_EXPR)
            body = KINDS[kind][1]
            code = f"{body}\n_hs_t_end = _hs_time.time()"
            for i in range(warmup + reps):
                ex = client.execute(code, {"t_end": "_hs_t_end"})
                reply = ex["reply"]
                t_end = float(reply[2]["content"]["user_expressions"]["t_end"]["data"]["text/plain"])
                run = {"t_reply": reply[0] - t_end, "t_idle": ex["idle"][0] - t_end, "warmup": i < warmup}
                if comm_id is not None:
                    cell = client.wait(
                        lambda e: (
                            (_comm_data(e) or {}).get("type") == "cell" and e[2]["content"].get("comm_id") == comm_id
                        ),
                        timeout=60,
                        after=ex["mark"],
                    )
                    record = _comm_data(cell)["cell"]
                    sent = cell[2]["header"]["date"]
                    sent = sent.timestamp() if hasattr(sent, "timestamp") else None
                    run.update(
                        {
                            "t_cell": cell[0] - t_end,
                            "agent_close": record["ended_at"] - t_end,
                            "transit": (cell[0] - sent) if sent is not None else None,
                            "reply_minus_cell": reply[0] - cell[0],
                            "idle_minus_cell": ex["idle"][0] - cell[0],
                            "peak_added": record["peak_bytes"] - record["start_bytes"],
                            "sites": len(record.get("top_at_peak") or []),
                        }
                    )
                out["runs"][kind].append(run)
            if comm_id is not None:
                runs = [r for r in out["runs"][kind] if not r["warmup"]]
                say(
                    f"  {kernel}/{mode or '-'} {kind}: ledger at client median "
                    f"{1000 * statistics.median(r['t_cell'] for r in runs):.1f} ms"
                )
        if kernel != "python3":
            out["engine_stats"] = client.evaluate(STATS_EXPR)
    finally:
        client.close()
    return out
