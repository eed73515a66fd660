"""A real kernel driven the way JupyterLab drives it: execute requests with ``cellId`` metadata, comms
opened from the client side, every iopub message kept for later questions. No mocks.

Every wait has a deadline, so a hung kernel fails the test instead of hanging CI.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from queue import Empty
from typing import Any, Callable, Dict, Iterator, List, Optional

from jupyter_client.manager import KernelManager

TIMEOUT = 60.0
#: Variables of the test runner's environment that would change how a kernel starts.
_SCRUBBED = ("HEAPSCOPE_SHIM_PATH", "HEAPSCOPE_ENABLE", "HEAPSCOPE_SHIM_ERROR", "LD_PRELOAD", "PYTHONPATH")


def scrubbed_environ() -> Dict[str, str]:
    """The test runner's environment without what would change how a heapscope kernel starts."""
    return {k: v for k, v in os.environ.items() if k not in _SCRUBBED}


@dataclass
class Execution:
    msg_id: str
    reply: Dict[str, Any]
    messages: List[Dict[str, Any]] = field(default_factory=list)  # iopub messages of this request

    @property
    def status(self) -> str:
        return self.reply["status"]

    @property
    def stdout(self) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.messages
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )


class KernelSession:
    def __init__(self, kernel_name: str, env: Optional[Dict[str, str]] = None):
        self.km = KernelManager(kernel_name=kernel_name)
        self.km.start_kernel(env={**scrubbed_environ(), **(env or {})})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=TIMEOUT)
        self.iopub: List[Dict[str, Any]] = []

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)

    # --- low level ------------------------------------------------------------------------------

    def send_shell(
        self,
        msg_type: str,
        content: Dict[str, Any],
        metadata: Optional[Dict[str, Any]] = None,
        subshell_id: Optional[str] = None,
    ) -> str:
        msg = self.kc.session.msg(msg_type, content, metadata=metadata or {})
        if subshell_id is not None:
            msg["header"]["subshell_id"] = subshell_id
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def _read(self, get: Callable[..., Dict[str, Any]], timeout: float, what: str) -> Iterator[Dict[str, Any]]:
        """Messages from one channel's ``get_*_msg`` until ``timeout``; fails if the kernel dies."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} in time")
            try:
                yield get(timeout=min(left, 1.0))
            except Empty:
                if not self.km.is_alive():
                    raise RuntimeError("the kernel died") from None

    def _reply(self, get: Callable[..., Dict[str, Any]], msg_id: str, timeout: float) -> Dict[str, Any]:
        return next(
            m for m in self._read(get, timeout, f"reply to {msg_id}") if m["parent_header"].get("msg_id") == msg_id
        )

    def shell_reply(self, msg_id: str, timeout: float = TIMEOUT) -> Dict[str, Any]:
        return self._reply(self.kc.get_shell_msg, msg_id, timeout)

    def control(self, msg_type: str, content: Dict[str, Any], timeout: float = TIMEOUT) -> Dict[str, Any]:
        """Send a control request; return its reply's content."""
        msg = self.kc.session.msg(msg_type, content)
        self.kc.control_channel.send(msg)
        return self._reply(self.kc.get_control_msg, msg["header"]["msg_id"], timeout)["content"]

    def create_subshell(self) -> str:
        """A kernel subshell (ipykernel 7), as JupyterLab >= 4.4 creates one per comm target."""
        return self.control("create_subshell_request", {})["subshell_id"]

    def mark(self) -> int:
        """A position in the iopub log: pass it as ``after`` to consider only later messages."""
        return len(self.iopub)

    def pump(self, until: Callable[[Dict[str, Any]], bool], timeout: float = TIMEOUT, after: int = 0) -> Dict[str, Any]:
        """Read iopub (keeping everything) until a message at or after ``after`` satisfies ``until``."""
        for msg in self.iopub[after:]:
            if until(msg):
                return msg
        for msg in self._read(self.kc.get_iopub_msg, timeout, "matching iopub message"):
            self.iopub.append(msg)
            if until(msg):
                return msg
        raise AssertionError("unreachable")

    # --- what JupyterLab does -------------------------------------------------------------------

    def start_execute(self, code: str, cell_id: Optional[str] = None) -> str:
        """Send a cell as JupyterLab does (``cellId`` in the execute request's metadata); return its msg id."""
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        return self.send_shell("execute_request", content, {"cellId": cell_id} if cell_id else {})

    def execute(self, code: str, cell_id: Optional[str] = None, timeout: float = TIMEOUT) -> Execution:
        """Run a cell and wait until the kernel is idle again."""
        msg_id = self.start_execute(code, cell_id)
        reply = self.shell_reply(msg_id, timeout)["content"]
        self.pump(
            lambda m: (
                m["parent_header"].get("msg_id") == msg_id
                and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"
            ),
            timeout,
            after=self.mark(),
        )
        mine = [m for m in self.iopub if m["parent_header"].get("msg_id") == msg_id]
        return Execution(msg_id, reply, mine)

    def evaluate(self, expression: str, timeout: float = TIMEOUT) -> Any:
        """The value of a Python literal expression in the kernel (a silent execute's ``user_expressions``:
        no cell hooks fire, so no cell is recorded)."""
        import ast

        msg_id = self.send_shell(
            "execute_request",
            {
                "code": "",
                "silent": True,
                "store_history": False,
                "user_expressions": {"value": expression},
                "allow_stdin": False,
                "stop_on_error": False,
            },
        )
        value = self.shell_reply(msg_id, timeout)["content"]["user_expressions"]["value"]
        if value.get("status") != "ok":
            raise RuntimeError(f"{expression!r} failed in the kernel: {value.get('ename')}: {value.get('evalue')}")
        return ast.literal_eval(value["data"]["text/plain"])

    def open_comm(self, target: str, data: Any, subshell_id: Optional[str] = None) -> str:
        comm_id = uuid.uuid4().hex
        self.send_shell("comm_open", {"comm_id": comm_id, "target_name": target, "data": data}, subshell_id=subshell_id)
        return comm_id

    def send_comm(self, comm_id: str, data: Any, subshell_id: Optional[str] = None) -> None:
        self.send_shell("comm_msg", {"comm_id": comm_id, "data": data}, subshell_id=subshell_id)

    def comm_data(self, comm_id: str) -> List[Any]:
        """``data`` of every comm_msg received so far on ``comm_id``."""
        return [
            m["content"]["data"]
            for m in self.iopub
            if m["msg_type"] == "comm_msg" and m["content"].get("comm_id") == comm_id
        ]

    def wait_comm(
        self, comm_id: str, predicate: Callable[[Any], bool], timeout: float = TIMEOUT, after: int = 0
    ) -> Any:
        """The first comm_msg ``data`` on ``comm_id`` (from ``after`` on) that satisfies ``predicate``."""
        msg = self.pump(
            lambda m: (
                m["msg_type"] == "comm_msg"
                and m["content"].get("comm_id") == comm_id
                and predicate(m["content"]["data"])
            ),
            timeout,
            after,
        )
        return msg["content"]["data"]

    def wait_comm_closed(self, comm_id: str, timeout: float = TIMEOUT) -> Dict[str, Any]:
        return self.pump(lambda m: m["msg_type"] == "comm_close" and m["content"].get("comm_id") == comm_id, timeout)


def of_type(kind: str, **fields: Any) -> Callable[[Any], bool]:
    """Predicate on protocol messages: ``type == kind`` and, for a ``cell``, the given cell fields."""

    def check(data: Any) -> bool:
        if not isinstance(data, dict) or data.get("type") != kind:
            return False
        cell = data.get("cell") or {}
        return all(cell.get(k) == v for k, v in fields.items())

    return check
