"""The attribution engine as the agent and ``heapscope run`` use it: ``heapscope._bridge`` (docs/engine.md).

:func:`connect` imports the bridge and installs it in the requested mode, or returns why attribution is
unavailable (no bridge built for this Python, the shim not preloaded, ...). Without it everything from
the totals-only profiler keeps working.

Settings: the shim reads and validates ``HEAPSCOPE_EXACT_THRESHOLD``, ``HEAPSCOPE_SAMPLE_INTERVAL`` and
``HEAPSCOPE_MAX_DEPTH`` itself when it loads (a bad value is rejected and the default used); this module
validates ``HEAPSCOPE_MODE``, ``HEAPSCOPE_TOP_N`` and ``HEAPSCOPE_ATTRIBUTION``. Every rejected setting is
one line in :func:`settings_errors` and in ``Engine.settings_errors``, logged once as a warning (the kernel
log, and the agent's warnings in the status).

Profiler memory: what the agent allocates inside :meth:`Engine.agent_work` (a context manager, nestable,
per thread) is counted as profiler memory (``profiler_bytes``), not as the program's heap, until it is
freed. The engine's own reads (``cell_end``, ``alive``, ``stack``, ``ticks``) run inside it already.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

log = logging.getLogger("heapscope.agent")

MODES = ("default", "exact")
#: Environment variables read when the engine is installed.
ENV_MODE = "HEAPSCOPE_MODE"
ENV_TOP_N = "HEAPSCOPE_TOP_N"
#: ``0`` turns line-level attribution off (totals only).
ENV_ATTRIBUTION = "HEAPSCOPE_ATTRIBUTION"
TOP_N_RANGE = (1, 1000)


def mode_from_env(environ=os.environ, default: str = "default") -> Tuple[str, Optional[str]]:
    """``HEAPSCOPE_MODE`` (or ``default``), and a warning when it holds something else."""
    value = (environ.get(ENV_MODE) or "").strip().lower()
    if not value:
        return default, None
    if value in MODES:
        return value, None
    return default, f"{ENV_MODE}={value!r} is not one of {', '.join(MODES)}; using {default!r}"


def _top_n(environ) -> Tuple[int, Optional[str]]:
    default = 20
    raw = (environ.get(ENV_TOP_N) or "").strip()
    if not raw:
        return default, None
    lo, hi = TOP_N_RANGE
    try:
        value = int(raw, 10)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        return default, f"{ENV_TOP_N}={raw[:40]!r} is not an integer in {lo}..{hi}; using {default}"
    return value, None


def top_n_from_env(environ=os.environ, default: int = 20) -> int:
    """``HEAPSCOPE_TOP_N`` (1..1000), else ``default`` (a bad value is in :func:`settings_errors`)."""
    value, problem = _top_n(environ)
    return default if problem else value


def _shim_settings_errors() -> List[str]:
    """The shim's rejected settings (``heapscope_settings_errors``), read with ctypes: available whether
    or not the bridge is built for this Python."""
    try:
        fn = ctypes.CDLL(None).heapscope_settings_errors
    except (AttributeError, OSError):
        return []
    fn.argtypes = []
    fn.restype = ctypes.c_char_p
    raw = fn() or b""
    return [line for line in raw.decode("utf-8", "replace").splitlines() if line]


def settings_errors(environ=os.environ) -> List[str]:
    """Every HEAPSCOPE_* setting that was rejected (one line each: which, why, what is used instead)."""
    out = []
    mode_problem = mode_from_env(environ)[1]
    if mode_problem:
        out.append(mode_problem)
    # the shim checks HEAPSCOPE_MODE too: this module's message says it already
    out.extend(e for e in _shim_settings_errors() if not e.startswith(ENV_MODE + "="))
    problem = _top_n(environ)[1]
    if problem:
        out.append(problem)
    raw = (environ.get(ENV_ATTRIBUTION) or "").strip()
    if raw not in ("", "0", "1"):
        out.append(f"{ENV_ATTRIBUTION}={raw[:40]!r} is not 0 or 1; using 1 (attribution on)")
    return out


def install_options(environ=os.environ) -> Dict[str, int]:
    """Kept for callers of the first version: the shim now reads and validates the numeric settings."""
    return {}


def cell_anchors() -> List[Any]:
    """Code objects whose frame runs a cell's code: the frame just inside the innermost of them is the cell
    frame that a stack deeper than ``max_depth`` keeps (IPython's ``run_code``; runpy's ``_run_code`` for
    ``heapscope run``)."""
    codes = []
    shell = sys.modules.get("IPython.core.interactiveshell")
    run_code = getattr(getattr(shell, "InteractiveShell", None), "run_code", None)
    if run_code is not None and hasattr(run_code, "__code__"):
        codes.append(run_code.__code__)
    import runpy

    run = getattr(runpy, "_run_code", None)
    if run is not None and hasattr(run, "__code__"):
        codes.append(run.__code__)
    return codes


class Engine:
    """A connected, installed bridge. Methods may be called from any thread (the bridge is thread-safe)."""

    def __init__(self, bridge: Any, mode: str, options: Dict[str, int], settings_errors: Sequence[str] = ()):
        self.bridge = bridge
        self.mode = mode
        self.options = dict(options)
        #: HEAPSCOPE_* settings that were rejected (one line each), for the status.
        self.settings_errors: List[str] = list(settings_errors)
        self._between: Optional[int] = None  # the run of the time between cells

    @contextlib.contextmanager
    def agent_work(self) -> Iterator[None]:
        """What this thread allocates inside is profiler memory, not the program's heap (until freed)."""
        self.bridge.agent_begin()
        try:
            yield
        finally:
            self.bridge.agent_end()

    # --- control (shell thread) ----------------------------------------------------------------

    def switch_mode(self, mode: str) -> Optional[str]:
        """Re-install in ``mode`` (between cells). ``None`` on success, else why it could not."""
        try:
            self.bridge.install(mode=mode, **self.options)
        except Exception as exc:
            return f"the engine could not switch to {mode!r} mode ({exc}); it applies at the next kernel restart"
        self.mode = mode
        return None

    def cell_begin(self) -> int:
        return int(self.bridge.cell_begin())

    def between_cells(self) -> int:
        """Make the run of the time between cells current (opened by the first call, resumed by the next
        ones): the kernel's own machinery then interns its stacks once per session instead of once per
        cell. Returns its run id (a run no cell owns)."""
        if self._between is None or not hasattr(self.bridge, "resume"):
            self._between = self.cell_begin()
        else:
            self.bridge.resume(self._between)
        return self._between

    def cell_end(self) -> Dict[str, Any]:
        with self.agent_work():
            return dict(self.bridge.cell_end())

    # --- reads (any thread) ----------------------------------------------------------------------

    def stats(self) -> Dict[str, Any]:
        return dict(self.bridge.stats())

    def alive(self, run: Optional[int] = None) -> List[Tuple[int, int, int, int]]:
        """``(stack_id, run, bytes, count)`` of the attributed memory alive now (of one run, or all)."""
        with self.agent_work():
            return list(self.bridge.alive(run) if run is not None else self.bridge.alive())

    def stack(self, stack_id: int) -> Tuple[int, Sequence[Tuple[str, str, int]]]:
        with self.agent_work():
            return self.bridge.stack(stack_id)

    def ticks(self) -> List[Tuple[float, int]]:
        """``(unix time, current_bytes)`` read by the ticker since the previous call."""
        with self.agent_work():
            return list(self.bridge.ticks())

    # The names before the glossary (issue 9), until every caller uses alive()/ticks().
    live = alive
    samples = ticks


def connect(
    mode: str, shim_active: bool, options: Optional[Dict[str, int]] = None
) -> Tuple[Optional[Engine], Optional[str]]:
    """Import and install the bridge. Returns ``(engine, None)`` or ``(None, reason)``.

    Every rejected HEAPSCOPE_* setting is logged once as a warning (and kept in ``Engine.settings_errors``).
    """
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if not shim_active:
        return None, "line-level attribution needs the heapscope shim, which is not active in this process"
    problems = settings_errors()
    for problem in problems:
        if not problem.startswith(ENV_MODE + "="):  # the agent's loader warns about the mode itself
            log.warning("heapscope: %s", problem)
    if os.environ.get(ENV_ATTRIBUTION, "").strip() == "0":
        return None, f"line-level attribution is off ({ENV_ATTRIBUTION}=0); per-cell totals still work"
    try:
        # (absolute: mypy would type `from .. import _bridge` by heapscope's module __getattr__, a str)
        import heapscope._bridge as _bridge
    except ImportError as exc:
        return None, (
            f"line-level attribution is unavailable: heapscope._bridge is not built for Python "
            f"{version} in this installation ({exc}); per-cell totals still work"
        )
    opts = dict(options or {})
    try:
        _bridge.install(mode=mode, **opts)
        _bridge.set_cell_anchors(cell_anchors())
    except Exception as exc:
        return None, f"line-level attribution is unavailable: the engine could not be installed ({exc!r})"
    return Engine(_bridge, mode, opts, problems), None
