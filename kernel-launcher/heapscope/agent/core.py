"""The agent: wires the shim, the ledger, the cell hooks and the comm together.

Every entry point (IPython hook, comm handler) is guarded; a failure is logged to the kernel's real
stderr (the server log), and reported to the browser as an ``error`` message. When the shim is
missing the agent still loads: it answers the browser with ``active: false`` and the reason, and
records no cells.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from typing import Any, Optional

from . import protocol
from .comm import CommHub
from .hooks import CellEnd, CellHooks, CellStart
from .ledger import Ledger, Stats
from .shim import Shim

log = logging.getLogger("heapscope.agent")

#: After this many failed hooks in a row the agent stops profiling rather than keep failing.
MAX_HOOK_FAILURES = 3


class Agent:
    def __init__(self, shell: Any, shim: Optional[Shim], reason: Optional[str], agent_version: str):
        self.shell = shell
        self.shim = shim
        self.reason = reason if shim is None else None
        self.agent_version = agent_version
        self.mode = "default"
        self._hook_failures = 0
        self.degraded = False
        self.ledger = Ledger()
        # Held while the ledger changes and the change is sent, so that a `history` snapshot taken on
        # a comm thread and a `cell` broadcast from the shell thread leave in a consistent order.
        self._send_lock = threading.RLock()
        self.hooks = CellHooks(shell, self.on_cell_start, self.on_cell_end, self.on_hook_failure)
        self.hub = CommHub(protocol.COMM_TARGET, self.on_comm_open, self.on_comm_message)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self.shim is not None:
            self.hooks.register()
        self.hub.register()
        if self.shim is None:
            log.warning("heapscope: profiler inactive: %s", self.reason)

    def stop(self) -> None:
        self.hooks.unregister()
        self.hub.unregister()

    # --- state ----------------------------------------------------------------------------------

    def stats(self) -> Stats:
        shim = self.shim  # read once: deactivate() may clear it from another thread
        return shim.stats() if shim is not None else Stats()

    def status(self) -> dict:
        shim = self.shim
        return {
            "active": shim is not None,
            "reason": self.reason,
            "shim_version": shim.version if shim is not None else None,
            "agent_version": self.agent_version,
            "mode": self.mode,
            "pid": os.getpid(),
            "python": platform.python_version(),
            "current_bytes": self.stats().current_bytes,
            "profiler_bytes": 0,
            "degraded": self.degraded,
        }

    def history_message(self) -> dict:
        with self._send_lock:
            return protocol.history_message(self.status(), self.ledger.history(), self.ledger.running())

    def deactivate(self, reason: str) -> None:
        """Stop profiling (the shim misbehaves) and tell every browser."""
        self.hooks.unregister()
        self.shim = None
        self.reason = reason
        self.broadcast(protocol.status_message(self.status()))

    # --- cell events (shell thread) --------------------------------------------------------------

    def on_cell_start(self, cell: CellStart) -> None:
        shim = self.shim
        if shim is None:
            return
        with self._send_lock:
            before = shim.stats()
            self.ledger.note_peak(before.peak_bytes)
            start_bytes = shim.reset_peak()
            payload = self.ledger.open_cell(cell.key, cell.cell_id, cell.execution_count, cell.source,
                                            time.time(), before, start_bytes)
            self.broadcast(protocol.cell_start_message(payload))
        self._hook_failures = 0

    def on_cell_end(self, end: CellEnd) -> None:
        shim = self.shim
        if shim is None:
            return
        with self._send_lock:
            record = self.ledger.close_cell(end.key, end.status, time.time(), shim.stats(), end.execution_count)
            if record is not None:
                self.broadcast(protocol.cell_message(record.to_dict()))
            if not self.degraded and shim.degraded():
                self.degraded = True
                log.warning("heapscope: the shim's bookkeeping is full; totals may be low from now on")
                self.broadcast(protocol.status_message(self.status()))
        self._hook_failures = 0

    def on_hook_failure(self, where: str, exc: BaseException) -> None:
        log.error("heapscope: %s failed", where, exc_info=exc)
        self.broadcast(protocol.error_message(f"heapscope agent: {where} failed: {exc!r}"))
        self._hook_failures += 1
        if self._hook_failures >= MAX_HOOK_FAILURES and self.shim is not None:
            self.deactivate(f"the heapscope agent failed {self._hook_failures} times in a row ({exc!r}); "
                            "profiling is off until the kernel restarts")

    # --- comm (any thread) ----------------------------------------------------------------------

    def on_comm_open(self, comm: Any, data: Any) -> None:
        if data is None or data == {}:
            data = {"protocol": protocol.PROTOCOL_VERSION, "type": "sync"}
        self.on_comm_message(comm, data)

    def on_comm_message(self, comm: Any, data: Any) -> None:
        problem = protocol.validate_incoming(data)
        if problem is not None:
            log.warning("heapscope: rejected a comm message: %s", problem)
            self.send(comm, protocol.error_message(problem))
            return
        if data["type"] == "sync":
            with self._send_lock:
                self.send(comm, self.history_message())
        elif data["type"] == "clear":
            with self._send_lock:
                self.ledger.clear()
                self.broadcast(self.history_message())

    # --- sending --------------------------------------------------------------------------------

    def _checked(self, msg: dict) -> dict:
        problem = protocol.validate_outgoing(msg)
        if problem is None:
            return msg
        log.error("heapscope: refusing to send an invalid %s message: %s", msg.get("type"), problem)
        return protocol.error_message(f"heapscope agent produced an invalid message: {problem}")

    def send(self, comm: Any, msg: dict) -> None:
        self.hub.send(comm, self._checked(msg))

    def broadcast(self, msg: dict) -> None:
        self.hub.broadcast(self._checked(msg))

    # --- headless access (heapscope report) ------------------------------------------------------

    def snapshot(self, since: int = 0) -> dict:
        """Finished cells after ``since`` (a ``seq``), and the status; JSON-able."""
        with self._send_lock:
            return {"status": self.status(), "cells": self.ledger.since(since), "running": self.ledger.running()}
