"""The ``heapscope`` comm target: every open comm (one per browser tab), broadcast, safe handlers.

With ipykernel 7 and JupyterLab >= 4.4, comm messages can be handled on a subshell thread while a
cell runs on the main thread, so the set of comms is guarded by a lock and every callback is wrapped:
a failing handler is logged and never propagates into ipykernel.

Routing: ipykernel 7 sends a comm's incoming messages to the shell the comm last *sent* from (its
``_reply_subshell_for`` hook). The agent sends ``cell`` messages from the main shell, which would pin the
browser's messages to the main shell and delay a ``sync`` until the running cell ends. Our handlers are
thread-safe, so each message is instead handled on the subshell the browser sent it on (best effort:
only where ipykernel has that hook).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, List, Optional

log = logging.getLogger("heapscope.agent")

#: ``on_open(comm, data)`` and ``on_message(comm, data)`` receive the message's ``data``.
Handler = Callable[[Any, Any], None]


class CommHub:
    """Registers a comm target and keeps the comms the browser opened on it."""

    def __init__(self, target: str, on_open: Handler, on_message: Handler):
        self.target = target
        self._on_open = on_open
        self._on_message = on_message
        self._lock = threading.Lock()
        self._comms: Dict[str, Any] = {}
        self._manager: Optional[Any] = None

    # --- lifecycle ------------------------------------------------------------------------------

    def register(self) -> None:
        import comm as comm_package

        self._manager = comm_package.get_comm_manager()
        self._manager.register_target(self.target, self._opened)

    def unregister(self) -> None:
        """Close every comm and remove the target (extension unload)."""
        for comm in self.comms():
            self._guard("closing a comm", comm.close)
        with self._lock:
            self._comms.clear()
        if self._manager is not None:
            self._guard("unregistering the comm target", self._manager.unregister_target,
                        self.target, self._opened)

    # --- sending --------------------------------------------------------------------------------

    def comms(self) -> List[Any]:
        with self._lock:
            return list(self._comms.values())

    def send(self, comm: Any, data: dict) -> bool:
        """Send ``data`` on one comm; a comm that fails to send is dropped."""
        try:
            comm.send(data)
            return True
        except Exception:
            log.warning("heapscope: dropping comm %s that failed to send", getattr(comm, "comm_id", "?"),
                        exc_info=True)
            self._forget(comm)
            return False

    def broadcast(self, data: dict) -> int:
        """Send ``data`` on every open comm; returns how many got it."""
        return sum(self.send(comm, data) for comm in self.comms())

    # --- incoming -------------------------------------------------------------------------------

    def _opened(self, comm: Any, msg: dict) -> None:
        # Called by ipykernel's CommManager; raising here would make it close the comm.
        with self._lock:
            self._comms[comm.comm_id] = comm
        if hasattr(comm, "_reply_subshell_for"):
            # The subshell the browser sent the message on (see the module docstring).
            comm._reply_subshell_for = lambda data, subshell_id: subshell_id
        comm.on_msg(lambda m: self._guard("handling a comm message", self._on_message, comm, _data(m)))
        comm.on_close(lambda m: self._forget(comm))
        self._guard("handling a comm open", self._on_open, comm, _data(msg))

    def _forget(self, comm: Any) -> None:
        with self._lock:
            self._comms.pop(getattr(comm, "comm_id", None), None)

    @staticmethod
    def _guard(what: str, fn: Callable, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.error("heapscope: error while %s", what, exc_info=True)


def _data(msg: Any) -> Any:
    """The ``data`` of a comm message; ``None`` when the message has none."""
    try:
        return msg["content"].get("data")
    except Exception:
        return None
