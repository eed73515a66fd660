"""heapscope's in-kernel agent, an IPython extension.

The launcher starts ipykernel with ``--ext heapscope.agent``; ``%load_ext heapscope.agent`` works
too (in a kernel without the preloaded shim the agent then reports ``active: false`` and why).
Modules: ``shim`` (ctypes access to the C API), ``engine`` (the ``heapscope._bridge`` attribution
engine), ``cells`` (code locations → cells), ``sites`` (stacks → site lists), ``ledger`` (per-cell
records), ``live`` (live samples), ``protocol`` (messages of ``docs/protocol.md``), ``comm`` (the comm
target), ``hooks`` (IPython events), ``core`` (wires them together).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import sys
import threading
from typing import Any, Optional, TextIO

log = logging.getLogger("heapscope.agent")

_lock = threading.Lock()
_agent: Optional[Any] = None
_launcher_error: Optional[str] = None
#: The agent's recent warnings and errors, one line each, for the panel's status (``status.warnings``).
_warnings: collections.deque[str] = collections.deque(maxlen=20)


class _ServerLogHandler(logging.StreamHandler):
    """Writes to the kernel's original stderr (the server's log); a failure to write is dropped, never
    reported on ``sys.stderr`` (logging's default), which ipykernel shows in the user's cell."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


class _WarningList(logging.Handler):
    """Keeps the first line of every warning and error for the panel's status."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage().splitlines()[0] if record.getMessage() else record.levelname
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__})"
            _warnings.append(text)
        except Exception:
            pass


def _server_log_stream() -> TextIO:
    """The kernel's stderr *before* ipykernel captured it. ipykernel >= 6 redirects file descriptor 2 into
    the running cell's output (its ``OutStream`` keeps a copy of the original descriptor); writing to
    ``sys.__stderr__`` would put the agent's warnings and tracebacks into the user's cell."""
    for stream in (sys.stderr, sys.__stderr__):
        fd = getattr(stream, "_original_stdstream_copy", None)
        if isinstance(fd, int) and fd >= 0:
            try:
                return os.fdopen(os.dup(fd), "w", buffering=1, encoding="utf-8", errors="backslashreplace")
            except OSError:
                break
    return sys.__stderr__ or sys.stderr


def _setup_logging() -> None:
    if not log.handlers:
        handler = _ServerLogHandler(_server_log_stream())
        handler.setFormatter(logging.Formatter("[%(levelname)s %(asctime)s %(name)s] %(message)s"))
        log.addHandler(handler)
        problems = _WarningList(logging.WARNING)
        log.addHandler(problems)
        log.setLevel(logging.INFO)
        log.propagate = False


def load_ipython_extension(ip: Any) -> None:
    global _agent, _launcher_error
    try:
        _setup_logging()
        from . import engine as engine_module
        from .core import connected_agent
        from .hooks import whole_sends
        from .shim import take_launcher_error

        with _lock:
            if _agent is not None:
                return
            _launcher_error = take_launcher_error() or _launcher_error
            mode, warning = engine_module.mode_from_env()
            if warning:
                log.warning("heapscope: %s", warning)
            agent = connected_agent(ip, mode, _launcher_error, warnings=_warnings)
            whole_sends(getattr(getattr(ip, "kernel", None), "session", None))
            agent.start()
            _agent = agent
    except Exception:  # the kernel must start even if the profiler cannot
        log.error("heapscope: the agent failed to load; the kernel runs unprofiled", exc_info=True)


def unload_ipython_extension(ip: Any) -> None:
    global _agent
    with _lock:
        agent, _agent = _agent, None
    if agent is not None:
        try:
            agent.stop()
        except Exception:
            log.error("heapscope: error while unloading the agent", exc_info=True)


def snapshot_json(since: int = 0, retained: bool = False) -> str:
    """The ledger as JSON: ``{"loaded", "status", "cells", "running"}`` (+ ``retained_by_cell`` when
    ``retained``); cells with ``seq > since``.

    ``heapscope report`` reads it with a silent execute's ``user_expressions`` (silent executions do
    not fire the cell hooks, so reading does not add a cell).
    """
    agent = _agent
    if agent is None:
        return json.dumps({"loaded": False})
    return json.dumps({"loaded": True, **agent.snapshot(since, retained)})
