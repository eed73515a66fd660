"""heapscope's in-kernel agent, an IPython extension.

The launcher starts ipykernel with ``--ext heapscope.agent``; ``%load_ext heapscope.agent`` works
too (in a kernel without the preloaded shim the agent then reports ``active: false`` and why).
Modules: ``shim`` (ctypes access to the C API), ``engine`` (the ``heapscope._bridge`` attribution
engine), ``cells`` (code locations → cells), ``sites`` (stacks → site lists), ``ledger`` (per-cell
records), ``live`` (live samples), ``protocol`` (messages of ``docs/protocol.md``), ``comm`` (the comm
target), ``hooks`` (IPython events), ``core`` (wires them together).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any, Optional

log = logging.getLogger("heapscope.agent")

_lock = threading.Lock()
_agent: Optional[Any] = None
_launcher_error: Optional[str] = None


def _setup_logging() -> None:
    # The kernel's sys.stderr goes into cell outputs; the real stderr goes to the server's log.
    if not log.handlers:
        handler = logging.StreamHandler(sys.__stderr__)
        handler.setFormatter(logging.Formatter("[%(levelname)s %(asctime)s %(name)s] %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def load_ipython_extension(ip: Any) -> None:
    global _agent, _launcher_error
    try:
        _setup_logging()
        from .. import __version__
        from . import engine as engine_module
        from .core import Agent
        from .shim import connect, take_launcher_error

        with _lock:
            if _agent is not None:
                return
            _launcher_error = take_launcher_error() or _launcher_error
            shim, reason = connect(_launcher_error)
            mode, warning = engine_module.mode_from_env()
            if warning:
                log.warning("heapscope: %s", warning)
            mode = _stored_mode() or mode
            engine, engine_reason = engine_module.connect(mode, shim is not None)
            agent = Agent(ip, shim, reason, __version__, engine=engine, engine_reason=engine_reason, mode=mode,
                          top_n=engine_module.top_n_from_env(), mode_store=_store_mode)
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


# --- the mode chosen in the browser, kept for the next start of this kernel ------------------------

def _mode_file() -> Optional[str]:
    """``<connection file>.heapscope-mode``: a restarted kernel keeps its connection file."""
    try:
        from ipykernel.connect import get_connection_file

        return get_connection_file() + ".heapscope-mode"
    except Exception:
        return None


def _stored_mode() -> Optional[str]:
    path = _mode_file()
    try:
        with open(path) as f:  # type: ignore[arg-type]
            value = f.read().strip()
    except (OSError, TypeError):
        return None
    return value if value in ("default", "exact") else None


def _store_mode(mode: str) -> None:
    path = _mode_file()
    if path is not None:
        with open(path, "w") as f:
            f.write(mode + "\n")
