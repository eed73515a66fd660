"""The memory guard, usage against the limit, and the writing of the post-mortem snapshot (issue 12).

- The limit comes from :mod:`.limits`; the shim's guard (``shim/src/engine/guard.h``) gets it with the
  thresholds, and refuses allocations by cell code that would cross the hard one (MemoryError in the
  cell) or interrupts the run when usage crosses it anyway. This module turns what the shim saw into
  the run's status (``guard``), ``guard_stop``, the RSS fields and the ``memory_warning`` of the status.
- Settings: ``HEAPSCOPE_GUARD=on|off`` (default on), ``HEAPSCOPE_GUARD_HARD`` (0.95) and
  ``HEAPSCOPE_GUARD_SOFT`` (0.80) in the kernel's environment, then ``configure`` from the panel.
- Post-mortem: this module's thread keeps the kernel's snapshot written (its finished runs, the open run
  with heap, RSS and top sites); the file, and what a dead kernel's snapshot becomes for the next kernel,
  are :mod:`.postmortem`'s (its names are re-exported here for the callers of this module).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import threading
import time
from typing import Any, Callable, ContextManager, Dict, List, Mapping, Optional, Tuple

from . import limits
from .postmortem import PREFIX as PREFIX
from .postmortem import SNAPSHOT_VERSION as SNAPSHOT_VERSION
from .postmortem import Snapshots as Snapshots
from .postmortem import dead_kernel_run as dead_kernel_run
from .postmortem import human as human
from .postmortem import killed_message as killed_message
from .postmortem import killed_run as killed_run
from .postmortem import post_mortem_cause as post_mortem_cause
from .postmortem import recover_runs
from .postmortem import session_key as session_key

log = logging.getLogger("heapscope.agent")

GUARD_ENV = "HEAPSCOPE_GUARD"
HARD_ENV = "HEAPSCOPE_GUARD_HARD"
SOFT_ENV = "HEAPSCOPE_GUARD_SOFT"
DEFAULT_HARD = 0.95
DEFAULT_SOFT = 0.80
#: Snapshot refresh period while a run is open (seconds).
SNAPSHOT_PERIOD = 1.0
#: Finished runs kept in the snapshot (the panel gets them back after a crash).
SNAPSHOT_RUNS = 200
#: Sites per list of each finished run in the snapshot (the open run keeps the agent's top_n).
SNAPSHOT_SITES = 5


def settings_from_env(environ: Mapping[str, str] = os.environ) -> Tuple[bool, float, float, List[str]]:
    """``(on, hard, soft, problems)`` from the kernel's environment."""
    problems: List[str] = []
    raw = environ.get(GUARD_ENV, "on").strip().lower()
    on = raw not in ("off", "0", "false", "no")
    if raw not in ("on", "off", "1", "0", "true", "false", "yes", "no", ""):
        problems.append(f"{GUARD_ENV}={raw!r} is not on or off; the guard is on")
        on = True

    def fraction(name: str, default: float) -> float:
        text = environ.get(name)
        if text is None or not text.strip():
            return default
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 < value <= 1:
            problems.append(f"{name}={text!r} is not a fraction in (0, 1]; using {default}")
            return default
        return value

    hard, soft = fraction(HARD_ENV, DEFAULT_HARD), fraction(SOFT_ENV, DEFAULT_SOFT)
    if soft > hard:
        problems.append(f"{SOFT_ENV} ({soft}) is above {HARD_ENV} ({hard}); using {hard}")
        soft = hard
    return on, hard, soft, problems


class _Info(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in [
            "limit",
            "hard",
            "soft",
            "usage",
            "rss",
            "usage_peak",
            "rss_peak",
            "refused",
            "refused_request",
            "refused_usage",
            "interrupted",
            "interrupted_usage",
            "soft_usage",
            "ticks",
            "enabled",
            "run_open",
            "over_at_start",
        ]
    ]


class _CGuard:
    """The shim's heapscope_guard_* functions (None when the loaded shim has no guard)."""

    def __init__(self, lib: ctypes.PyDLL):
        self.configure = lib.heapscope_guard_configure
        self.configure.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64]
        self.configure.restype = ctypes.c_int
        self.enable = lib.heapscope_guard_enable
        self.enable.argtypes = [ctypes.c_int]
        self.enable.restype = None
        self.run = lib.heapscope_guard_run
        self.run.argtypes = [ctypes.c_int]
        self.run.restype = None
        self._read = lib.heapscope_guard_read
        self._read.argtypes = [ctypes.POINTER(_Info)]
        self._read.restype = None

    def read(self) -> Dict[str, int]:
        out = _Info()
        self._read(ctypes.byref(out))
        return {field[0]: int(getattr(out, field[0])) for field in _Info._fields_}

    @classmethod
    def bind(cls) -> Optional[_CGuard]:
        try:
            return cls(ctypes.PyDLL(None))  # the calls keep the GIL: atomics only (see shim.connect)
        except (AttributeError, OSError):
            return None


def _malloc_trim() -> Optional[Callable[[int], int]]:
    try:
        fn = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


class MemoryGuard:
    """One per agent. ``top_sites()`` gives the open run's largest sites now (list of Site dicts)."""

    def __init__(
        self,
        environ: Mapping[str, str] = os.environ,
        top_sites: Optional[Callable[[], List[dict]]] = None,
        on_warning: Optional[Callable[[], None]] = None,
        snapshots: Optional[Snapshots] = None,
        limit: Optional[limits.Limit] = None,
        work: Optional[Callable[[], ContextManager[None]]] = None,
    ):
        self.on, self.hard, self.soft, self.problems = settings_from_env(environ)
        self.limit = limit if limit is not None else limits.effective_limit()
        self._c = _CGuard.bind()
        self._top_sites = top_sites
        # The snapshot thread's allocations are profiler memory, not the running cell's (Engine.agent_work).
        self._work = work if work is not None else contextlib.nullcontext
        self._on_warning = on_warning
        self.snapshots = snapshots
        self.warning: Optional[dict] = None
        self.released: Optional[dict] = None
        self._lock = threading.Lock()
        self._running: Optional[dict] = None  # the open run, for the snapshot
        self._history: List[str] = []  # the last SNAPSHOT_RUNS finished runs, each as JSON (encoded once)
        self._unwritten = 0  # how many of them ended after the last whole snapshot was encoded
        self._written_at = -SNAPSHOT_PERIOD  # time.monotonic() of the last whole snapshot
        self._files_limit: Optional[limits.Limit] = None  # the cgroup's and the machine's, read ...
        self._files_read_at: Optional[float] = None  # ... at this time.monotonic()
        self._oom_kills = limits.oom_kills(self.limit)
        self._wake = threading.Event()
        self._stopped = threading.Event()  # set by close(): the snapshot thread ends, nothing more is written
        self._dirty = False  # the snapshot thread writes soon (a run started or ended)
        self._write_lock = threading.Lock()  # a write and the removal at exit never overlap
        self._thread: Optional[threading.Thread] = None
        self._top_at: int = 0
        self._apply()

    # --- settings --------------------------------------------------------------------------------

    def reason(self) -> Optional[str]:
        if self._c is None:
            return "the loaded heapscope shim has no memory guard"
        if self.limit is None:
            return "no memory limit could be read"
        if not self.on:
            return "switched off"
        return None

    def _apply(self) -> None:
        c, limit = self._c, self.limit
        if c is None:
            return
        if limit is None:
            c.enable(0)
            return
        path = (limit.usage_path or "").encode() or None
        c.configure(path, limit.usage_kind, limit.bytes, int(limit.bytes * self.hard), int(limit.bytes * self.soft))
        c.enable(1 if self.on else 0)

    def configure(self, data: Mapping[str, Any]) -> None:
        if "guard" in data:
            self.on = bool(data["guard"])
        if "guard_hard" in data:
            self.hard = float(data["guard_hard"])
        if "guard_soft" in data:
            self.soft = min(float(data["guard_soft"]), self.hard)
        self._apply()

    def status(self) -> dict:
        info = self._c.read() if self._c is not None else {}
        rss = info.get("rss") or limits.rss_bytes()
        return {
            "memory_limit": self.limit.to_dict() if self.limit is not None else None,
            "guard": {"on": self.reason() is None, "hard": self.hard, "soft": self.soft, "reason": self.reason()},
            "memory_warning": self.warning,
            "released": self.released,
            "usage_bytes": int(info.get("usage") or 0),
            "rss_bytes": int(rss),
        }

    # --- runs (shell thread) ---------------------------------------------------------------------

    def refresh_limit(self) -> None:
        """Read the limit again (a run start: the container may have been resized, the kernel moved). The
        rlimits (a system call) every time: a cell may have just set one; the cgroup and machine files at
        most once a second (a dozen file reads cost ~0.4 ms per cell)."""
        try:
            now = time.monotonic()
            if self._files_read_at is None or now - self._files_read_at >= SNAPSHOT_PERIOD:
                self._files_limit = limits.effective_limit(with_rlimits=False)
                self._files_read_at = now
            candidates = [c for c in [self._files_limit, *limits.rlimits()] if c is not None]
            found = min(candidates, key=lambda c: c.bytes) if candidates else None
        except Exception:
            return
        if found is not None and self.limit is not None and found[:2] == self.limit[:2]:
            return
        self.limit = found
        self._oom_kills = limits.oom_kills(found)
        self._apply()

    def run_started(self, start: Mapping[str, Any], source: str, mode: Optional[str] = None) -> None:
        self.refresh_limit()
        rss = limits.rss_bytes()
        self.warning = None
        if self._c is not None:
            self._c.run(1)
        self._top_at = 0
        with self._lock:
            self._running = {
                "seq": start.get("seq"),
                "cell_id": start.get("cell_id"),
                "execution_count": start.get("execution_count"),
                "source": source[:20000],
                "started_at": start.get("started_at"),
                "start_bytes": start.get("start_bytes"),
                "peak_bytes": start.get("start_bytes"),
                "rss_start_bytes": rss,
                "rss_peak_bytes": rss,
                "top_at_peak": [],
            }
        # Written now, on the cell's path: a cell that crashes at once (a segfault, os._exit) must find it
        # there. Only the run, in the snapshot's small companion file; the whole snapshot (history too),
        # its updates while the run lasts and the run's end are written by the snapshot thread.
        self._write_snapshot(heap=int(start.get("start_bytes") or 0), running_only=True)
        self._wake.set()

    def run_ended(self, status: str) -> Tuple[str, Dict[str, Any]]:
        """The run's final status and its extra CellRun fields (RSS, guard_stop)."""
        info = self._c.read() if self._c is not None else {}
        if self._c is not None:
            self._c.run(0)
        rss = limits.rss_bytes()
        with self._lock:
            running, self._running = self._running, None
        start = (running or {}).get("rss_start_bytes", rss)
        extra: Dict[str, Any] = {
            "rss_start_bytes": int(start),
            "rss_peak_bytes": int(max(start, rss, info.get("rss_peak") or 0)),
            "rss_end_bytes": int(rss),
        }
        stop = self._stop_of(info)
        # The guard stops a run with MemoryError ("error") or an interrupt ("interrupted"); a cell that
        # caught the MemoryError and went on ends ok: no stop to report.
        if stop is not None and status in ("error", "interrupted"):
            status = "guard"
            extra["guard_stop"] = stop
            seq = (running or {}).get("seq")
            if seq is not None and self.limit is not None:
                self.warning = {
                    "seq": seq,
                    "cell_id": (running or {}).get("cell_id"),
                    "execution_count": (running or {}).get("execution_count"),
                    "usage_bytes": stop["usage_bytes"],
                    "rss_bytes": int(info.get("rss") or rss),
                    "limit_bytes": self.limit.bytes,
                    "fraction": round(stop["usage_bytes"] / self.limit.bytes, 4),
                    "level": "hard",
                    "message": stop["message"],
                }
        return status, extra

    def _stop_of(self, info: Mapping[str, int]) -> Optional[dict]:
        limit = self.limit
        if limit is None or not (info.get("refused") or info.get("interrupted")):
            return None
        refused = bool(info.get("refused"))
        usage = int(info["refused_usage"] if refused else info["interrupted_usage"])
        if refused:  # refused_usage is what the refused request would have brought usage to
            request = int(info.get("refused_request") or 0)
            message = (
                f"stopped by heapscope at {human(max(0, usage - request))} of {human(limit.bytes)}: "
                f"a request for {human(request)} more was refused"
            )
        else:
            message = f"stopped by heapscope at {human(usage)} of {human(limit.bytes)}"
        stop = {
            "how": "refused" if refused else "interrupted",
            "usage_bytes": usage,
            "limit_bytes": limit.bytes,
            "source": limit.source,
            "refused": int(info.get("refused") or 0),
            "message": message,
        }
        if refused:
            stop["request_bytes"] = request
        return stop

    def run_finished(self, run: Mapping[str, Any]) -> None:
        """A finished run (protocol dict, sites without stacks) for the snapshot's history."""
        kept = dict(run)
        for key in ("top_at_peak", "retained"):  # the snapshot is rewritten at every run start: keep it small
            if isinstance(kept.get(key), list):
                kept[key] = kept[key][:SNAPSHOT_SITES]
        try:
            encoded = json.dumps(kept, separators=(",", ":"))
        except (TypeError, ValueError):
            return
        with self._lock:
            self._history.append(encoded)
            del self._history[:-SNAPSHOT_RUNS]
            self._unwritten = min(self._unwritten + 1, SNAPSHOT_RUNS)
        # The companion now says the run ended (no run open, this one among its recent runs): a kill before
        # the snapshot thread's next whole snapshot must not make it a killed run.
        self._write_snapshot(running_only=True, ended=encoded)
        self._dirty = True
        self._wake.set()

    def release_memory(self) -> dict:
        before = limits.rss_bytes()
        trim = _malloc_trim()
        if trim is not None:
            trim(0)
        after = limits.rss_bytes()
        self.released = {
            "rss_before_bytes": before,
            "rss_after_bytes": after,
            "released_bytes": max(0, before - after),
            "at": time.time(),
        }
        return self.released

    # --- the snapshot thread -----------------------------------------------------------------------

    def start(self) -> None:
        if self.snapshots is not None:
            try:
                self.snapshots.sweep()
            except OSError:
                pass
            self._write_snapshot()
            atexit.register(self.close)
        self._thread = threading.Thread(target=self._loop, name="heapscope-guard", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """A clean exit: the snapshot goes."""
        with self._write_lock:
            self._stopped.set()
            self._wake.set()
            if self.snapshots is not None:
                try:
                    self.snapshots.remove()
                except OSError:
                    pass

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(SNAPSHOT_PERIOD)
            # At most one whole snapshot a second: a Run All of small cells starts and ends many runs a
            # second, and each write competes with the cells for the GIL. The runs that end meanwhile are
            # in the companion, rewritten at each run start and end (_write_snapshot_locked), so a kill
            # loses none of them.
            if self._stopped.wait(self._written_at + SNAPSHOT_PERIOD - time.monotonic()):
                return
            self._wake.clear()
            try:
                with self._work():
                    self._tick()
            except Exception:
                log.debug("heapscope: guard tick failed", exc_info=True)

    def _tick(self) -> None:
        with self._lock:
            running = self._running
        dirty, self._dirty = self._dirty, False
        if running is None:
            if dirty:
                self._write_snapshot()
            return
        info = self._c.read() if self._c is not None else {}
        limit = self.limit
        if limit is not None and info.get("soft_usage") and self.warning is None:
            usage = int(info["soft_usage"])
            fraction = usage / limit.bytes
            count = running.get("execution_count")
            name = f"cell [{count}]" if count is not None else "the running cell"
            self.warning = {
                "seq": running["seq"],
                "cell_id": running.get("cell_id"),
                "execution_count": count,
                "usage_bytes": usage,
                "rss_bytes": int(info.get("rss") or 0),
                "limit_bytes": limit.bytes,
                "fraction": round(fraction, 4),
                "level": "soft",
                "message": f"{name} is at {fraction * 100:.0f} % of the {human(limit.bytes)} limit ({limit.source})",
            }
            if self._on_warning is not None:
                self._on_warning()
        self._write_snapshot(info=info)

    def _write_snapshot(
        self,
        heap: Optional[int] = None,
        info: Optional[Mapping[str, int]] = None,
        running_only: bool = False,
        ended: Optional[str] = None,
    ) -> None:
        """The whole snapshot, or (``running_only``) a line of its companion: the open run, and the run that
        just ``ended`` (encoded)."""
        with self._write_lock:
            if not self._stopped.is_set():
                self._write_snapshot_locked(heap, info, running_only, ended)

    def _write_snapshot_locked(
        self, heap: Optional[int], info: Optional[Mapping[str, int]], running_only: bool, ended: Optional[str]
    ) -> None:
        snaps = self.snapshots
        if snaps is None:
            return
        with self._lock:
            running = dict(self._running) if self._running is not None else None
            # The whole history, or in the companion the runs that ended since the whole snapshot was last
            # encoded (the next kernel merges them, by seq).
            unwritten = self._unwritten
            runs = self._history[len(self._history) - unwritten :] if running_only else list(self._history)
        if running is not None:
            if info is None:
                info = self._c.read() if self._c is not None else {}
            heap = heap if heap is not None else int(self._heap() or 0)
            rss = int(info.get("rss") or limits.rss_bytes())
            running["heap_bytes"] = heap
            running["rss_bytes"] = rss
            running["usage_bytes"] = int(info.get("usage") or rss)
            running["at"] = time.time()
            running["peak_bytes"] = max(int(running.get("peak_bytes") or 0), heap)
            running["rss_peak_bytes"] = max(
                int(running.get("rss_peak_bytes") or 0), rss, int(info.get("rss_peak") or 0)
            )
            # Sites at each new peak above half the limit (at most once a second: this thread's pace).
            limit = self.limit
            # (usage, not heap, against the limit: under RLIMIT_AS usage is the address space, far above the heap)
            near = limit is None or running["usage_bytes"] * 2 >= limit.bytes
            # Not in the run-start companion, which is written on the cell's path: the run has no sites yet.
            if not running_only and self._top_sites is not None and heap > self._top_at and near:
                try:
                    running["top_at_peak"] = self._top_sites()
                    self._top_at = heap
                except Exception:
                    log.debug("heapscope: no sites for the snapshot", exc_info=True)
            with self._lock:
                if self._running is not None and self._running.get("seq") == running.get("seq"):
                    self._running.update(
                        peak_bytes=running["peak_bytes"],
                        rss_peak_bytes=running["rss_peak_bytes"],
                        top_at_peak=running["top_at_peak"],
                    )
        head = {
            "version": SNAPSHOT_VERSION,
            "key": snaps.key,
            "pid": os.getpid(),
            "written_at": time.time(),
            "memory_limit": self.limit.to_dict() if self.limit is not None else None,
            "oom_kills": self._oom_kills,
            "events_path": self.limit.events_path if self.limit is not None else None,
            "running": running,
        }
        try:
            if running_only:
                snaps.append(_companion_line(head, ended), lambda: _companion_start(head, runs))
            else:
                text = json.dumps(head, separators=(",", ":"))
                snaps.write((text[:-1] + ',"history":[' + ",".join(runs) + "]}").encode("utf-8", "surrogatepass"))
        except (OSError, ValueError):
            log.debug("heapscope: could not write the post-mortem snapshot", exc_info=True)
            return
        if not running_only:
            self._written_at = time.monotonic()
            with self._lock:
                self._unwritten = max(0, self._unwritten - unwritten)

    heap_reader: Optional[Callable[[], int]] = None

    def _heap(self) -> int:
        return self.heap_reader() if self.heap_reader is not None else 0

    # --- the next kernel -------------------------------------------------------------------------

    def recover(self) -> List[dict]:
        """Dead kernels' runs for this notebook: their finished runs, then the killed one."""
        return recover_runs(self.snapshots) if self.snapshots is not None else []


def _companion_line(head: Mapping[str, Any], ended: Optional[str]) -> bytes:
    """A line of the companion: its time, the open run (or ``null``) and the run that ``ended`` (encoded)."""
    text = json.dumps({"written_at": head["written_at"], "running": head["running"]}, separators=(",", ":"))
    if ended is not None:
        text = text[:-1] + ',"ended":' + ended + "}"
    return (text + "\n").encode("utf-8", "surrogatepass")


def _companion_start(head: Mapping[str, Any], runs: List[str]) -> bytes:
    """The companion's first lines: the snapshot's head, then the runs that ended since the whole snapshot
    was last encoded (the next kernel merges them with its history, by seq)."""
    lines = [json.dumps({**head, "running": None}, separators=(",", ":"))]
    lines.extend('{"ended":' + run + "}" for run in runs)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
