"""The attribution engine as the agent and ``heapscope run`` use it: ``heapscope._bridge`` (docs/engine.md).

:func:`connect` imports the bridge and installs it in the requested mode, or returns why attribution is
unavailable (no bridge built for this Python, the shim not preloaded, ...). Without it everything from
the totals-only profiler keeps working.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

log = logging.getLogger("heapscope.agent")

MODES = ("default", "exact")
#: Environment variables read when the engine is installed.
ENV_MODE = "HEAPSCOPE_MODE"
ENV_TOP_N = "HEAPSCOPE_TOP_N"
#: ``0`` turns line-level attribution off (totals only).
ENV_ATTRIBUTION = "HEAPSCOPE_ATTRIBUTION"

_INT_SETTINGS = {  # install() keyword -> environment variable (advanced tuning, documented in protocol.md)
    "exact_threshold": "HEAPSCOPE_EXACT_THRESHOLD",
    "sample_interval": "HEAPSCOPE_SAMPLE_INTERVAL",
    "max_depth": "HEAPSCOPE_MAX_DEPTH",
}


def mode_from_env(environ=os.environ, default: str = "default") -> Tuple[str, Optional[str]]:
    """``HEAPSCOPE_MODE`` (or ``default``), and a warning when it holds something else."""
    value = (environ.get(ENV_MODE) or "").strip().lower()
    if not value:
        return default, None
    if value in MODES:
        return value, None
    return default, f"{ENV_MODE}={value!r} is not one of {', '.join(MODES)}; using {default!r}"


def top_n_from_env(environ=os.environ, default: int = 20) -> int:
    try:
        value = int(environ.get(ENV_TOP_N, default))
    except ValueError:
        return default
    return max(1, min(value, 1000))


def install_options(environ=os.environ) -> Dict[str, int]:
    out = {}
    for key, var in _INT_SETTINGS.items():
        raw = environ.get(var)
        if raw:
            try:
                out[key] = int(raw)
            except ValueError:
                log.warning("heapscope: ignoring %s=%r (not an integer)", var, raw)
    return out


class Engine:
    """A connected, installed bridge. Methods may be called from any thread (the bridge is thread-safe)."""

    def __init__(self, bridge: Any, mode: str, options: Dict[str, int]):
        self.bridge = bridge
        self.mode = mode
        self.options = dict(options)

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

    def cell_end(self) -> Dict[str, Any]:
        return dict(self.bridge.cell_end())

    # --- reads (any thread) ----------------------------------------------------------------------

    def stats(self) -> Dict[str, Any]:
        return dict(self.bridge.stats())

    def live(self, epoch: Optional[int] = None) -> List[Tuple[int, int, int, int]]:
        return list(self.bridge.live(epoch) if epoch is not None else self.bridge.live())

    def stack(self, stack_id: int) -> Tuple[int, Sequence[Tuple[str, str, int]]]:
        return self.bridge.stack(stack_id)

    def samples(self) -> List[Tuple[float, int]]:
        return list(self.bridge.samples())


def connect(mode: str, shim_active: bool, options: Optional[Dict[str, int]] = None) -> Tuple[Optional[Engine], Optional[str]]:
    """Import and install the bridge. Returns ``(engine, None)`` or ``(None, reason)``."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if not shim_active:
        return None, "line-level attribution needs the heapscope shim, which is not active in this process"
    if os.environ.get(ENV_ATTRIBUTION, "").strip() == "0":
        return None, f"line-level attribution is off ({ENV_ATTRIBUTION}=0); per-cell totals still work"
    try:
        from .. import _bridge  # type: ignore[attr-defined]
    except ImportError as exc:
        return None, (f"line-level attribution is unavailable: heapscope._bridge is not built for Python "
                      f"{version} in this installation ({exc}); per-cell totals still work")
    opts = dict(options if options is not None else install_options())
    try:
        _bridge.install(mode=mode, **opts)
    except Exception as exc:
        return None, f"line-level attribution is unavailable: the engine could not be installed ({exc!r})"
    return Engine(_bridge, mode, opts), None
