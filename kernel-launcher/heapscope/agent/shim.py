"""ctypes access to the preloaded shim's C API (``shim/include/heapscope.h``).

The shim is found in the process's global symbol scope (``ctypes.PyDLL(None)``, i.e.
``dlsym(RTLD_DEFAULT, ...)``), never loaded by path: only a preloaded shim sees every allocation.
:func:`connect` returns either a :class:`Shim` or the reason, in words a user can act on, why the
kernel runs unprofiled.
"""

from __future__ import annotations

import ctypes
import os
from typing import Optional, Tuple

from .._env import SHIM_ERROR
from .ledger import Stats

#: ``HEAPSCOPE_ABI_VERSION`` of the header this module was written against.
ABI_VERSION = 2


class _CStats(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in Stats._fields]


class Shim:
    """The shim's functions, bound once. Every method may be called from any thread."""

    def __init__(self, lib: ctypes.PyDLL):
        self._get_stats = lib.heapscope_get_stats
        self._get_stats.argtypes = [ctypes.POINTER(_CStats)]
        self._get_stats.restype = None
        self._reset_peak = lib.heapscope_reset_peak
        self._reset_peak.argtypes = []
        self._reset_peak.restype = ctypes.c_uint64
        version = lib.heapscope_version
        version.argtypes = []
        version.restype = ctypes.c_char_p
        raw = version()
        self.version: Optional[str] = raw.decode("utf-8", "replace") if raw else None
        # Optional (added within ABI 1): 1 once the shim could not grow its bookkeeping.
        self._degraded = _function(lib, "heapscope_degraded", ctypes.c_int)

    def stats(self) -> Stats:
        out = _CStats()
        self._get_stats(ctypes.byref(out))
        return Stats(*(int(getattr(out, name)) for name in Stats._fields))

    def reset_peak(self) -> int:
        """Set the peak to the current heap; returns it."""
        return int(self._reset_peak())

    def degraded(self) -> bool:
        """True once the totals may be low (the shim stopped counting new anonymous mappings)."""
        return bool(self._degraded()) if self._degraded is not None else False


def _function(lib: ctypes.PyDLL, name: str, restype):
    try:
        fn = getattr(lib, name)
    except AttributeError:
        return None
    fn.argtypes = []
    fn.restype = restype
    return fn


def connect(launcher_error: Optional[str] = None) -> Tuple[Optional[Shim], Optional[str]]:
    """Bind the preloaded shim. Returns ``(shim, None)`` or ``(None, reason)``.

    ``launcher_error`` is the launcher's explanation (``HEAPSCOPE_SHIM_ERROR``) when it started the
    kernel without the shim; it is the most precise reason there is.
    """
    if launcher_error:
        return None, launcher_error
    try:
        # PyDLL: the calls keep the GIL. These functions only read and write atomics; a CDLL call released
        # the GIL at each of the ~8 calls a cell makes, and a busy thread (iopub's) could then keep the
        # main thread waiting for the switch interval (5 ms) to get it back.
        lib = ctypes.PyDLL(None)
        abi = _function(lib, "heapscope_abi_version", ctypes.c_int)
        if abi is None:
            return None, (
                "the heapscope shim library is not loaded in this kernel (it was not preloaded: start the "
                "kernel from the 'Python 3 (heapscope)' kernelspec, which runs `python -m heapscope.launcher`, "
                "or, when another launcher starts it (a gateway's kernel image), run its Python through "
                "heapscope-python or with `python -m heapscope.launcher --print-env` set, as "
                "docs/remote-kernels.md says); the kernel runs unprofiled"
            )
        found = abi()
        if found != ABI_VERSION:
            return None, (
                f"the loaded heapscope shim has ABI version {found}, this agent needs {ABI_VERSION}: "
                "reinstall heapscope so that both come from the same build; the kernel runs unprofiled"
            )
        active = _function(lib, "heapscope_active", ctypes.c_int)
        if not active():
            return None, (
                "the heapscope shim is loaded but not counting (HEAPSCOPE_ENABLE was not set when the kernel "
                "started); the kernel runs unprofiled"
            )
        return Shim(lib), None
    except Exception as exc:  # never let a broken shim take the agent down
        return None, f"could not use the heapscope shim ({exc!r}); the kernel runs unprofiled"


def take_launcher_error() -> Optional[str]:
    """Read and remove ``HEAPSCOPE_SHIM_ERROR`` so that the kernel's children do not inherit it."""
    return os.environ.pop(SHIM_ERROR, None) or None
