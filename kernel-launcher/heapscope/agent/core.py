"""The agent: wires the shim, the engine, the ledger, the cell hooks, live samples and the comm together.

Every entry point (IPython hook, comm handler) is guarded; a failure is logged to the kernel's real
stderr (the server log), and reported to the browser as an ``error`` message. When the shim is
missing the agent still loads: it answers the browser with ``active: false`` and the reason, and
records no cells. When only the engine (``heapscope._bridge``) is missing, cells keep their totals and
the status says why there is no line-level attribution.

Engine run_ids: each outermost cell opens one (``cell_begin``) and closes it (``cell_end``), and another
run_id, owned by no cell, starts at once for the time between cells; a nested ``run_cell`` stays inside
its enclosing cell's run_id (its record has totals but no sites).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import threading
import time
from collections import OrderedDict
from typing import Any, ContextManager, Dict, List, Optional, Tuple

from .._env import CHECK_MESSAGES
from . import limits, protocol
from .cells import CellMap, RunOrigin
from .comm import CommHub, echo, short
from .engine import Engine
from .guard import MemoryGuard, Snapshots, session_key
from .holders import HoldersService
from .hooks import CellEnd, CellHooks, CellStart
from .ledger import Ledger, Stats
from .live import TickRelay
from .shim import Shim
from .sites import DEFAULT_TOP_N, DETAIL_TOP_N, SiteResolver

log = logging.getLogger("heapscope.agent")

#: After this many failed hooks in a row the agent stops profiling rather than keep failing.
MAX_HOOK_FAILURES = 3
#: Finished cells whose raw engine rows are kept for ``cell_detail`` (older cells answer with their top N).
DETAIL_CELLS = 200
#: Cells listed in a ``retained_by_cell`` answer (largest first).
RETAINED_CELLS = 100
#: Rate of the native sampler (set by the bridge's install).
LIVE_HZ = 20
#: Problems (agent warnings and errors) listed in the status, most recent last.
MAX_WARNINGS = 20
#: Seconds between two status messages sent after cells (a Run All of small cells sends one per interval).
STATUS_EVERY = 0.5
#: Seconds a cell runs before its ``cell_start`` goes out (from the tick relay, before the cell's first ticks).
#: A shorter cell's ``cell`` message says everything: a Run All of small cells sends one message a cell.
START_AFTER = 0.1


class Agent:
    def __init__(
        self,
        shell: Any,
        shim: Optional[Shim],
        reason: Optional[str],
        agent_version: str,
        engine: Optional[Engine] = None,
        engine_reason: Optional[str] = None,
        mode: str = "default",
        top_n: int = DEFAULT_TOP_N,
        root_files: Tuple[str, ...] = (),
        warnings: Optional[Any] = None,
    ):
        self.shell = shell
        # The agent's warnings and errors (from its logger, see heapscope.agent), for the panel's status.
        self.warnings = warnings if warnings is not None else []
        self.shim = shim
        self.reason = reason if shim is None else None
        self.agent_version = agent_version
        self.engine = engine if shim is not None else None
        self.engine_reason = (
            None
            if self.engine is not None
            else (engine_reason or "line-level attribution needs the heapscope shim, which is not active")
        )
        self.mode = engine.mode if engine is not None else mode
        self.pending_mode: Optional[str] = None
        self.pending_applies: Optional[str] = None
        self.top_n = top_n
        self.check_messages = os.environ.get(CHECK_MESSAGES) == "1"  # validate what is sent (tests)
        self._hook_failures = 0
        self.degraded = False
        self.ledger = Ledger()
        self.cells = CellMap()
        self.resolver = SiteResolver(self.engine.stack, self.cells, root_files) if self.engine is not None else None
        self._run_id: Optional[int] = None  # the open engine run_id
        self._unclosed: Optional[CellEnd] = None  # a cell end whose close has not completed
        self._first_stack: Optional[int] = None  # the engine's stack count when it opened
        self._detail_rows: OrderedDict[int, Dict[str, List[Tuple[int, int, int]]]] = OrderedDict()
        # Held while the ledger changes and the change is sent, so that a `history` snapshot taken on
        # a comm thread and a `cell` broadcast from the shell thread leave in a consistent order.
        self._send_lock = threading.RLock()
        self._status_at = 0.0  # time.monotonic() of the last status sent after a cell
        self._status_due = False  # a status after a cell waits for the tick relay
        self._start_due: Optional[dict] = None  # the open cell's cell_start, until it has run START_AFTER
        self.hooks = CellHooks(shell, self.on_cell_start, self.on_cell_end, self.on_hook_failure)
        self.hub = CommHub(protocol.COMM_TARGET, self.on_comm_open, self.on_comm_message)
        self.holders = HoldersService(self)  # who holds the heap (agent/holders.py)
        self.live: Optional[TickRelay] = None
        self.guard: Optional[MemoryGuard] = None
        if shim is not None:  # the memory guard and the post-mortem snapshot (agent/guard.py)
            self.guard = _memory_guard(self)
        if self.engine is not None:
            self.live = TickRelay(
                self.engine.ticks,
                self._send_samples,
                self._running_cell,
                idle=self._relay_round,
                work=self._agent_work,
                held=lambda: self._start_due is not None,
            )

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self.guard is not None:
            self.ledger.add_finished(self.guard.recover())  # a dead kernel's runs, the killed one last
            for run in self.ledger.history(stacks=False):
                self.guard.run_finished(run)
            self.guard.start()
        if self.shim is not None:
            self.hooks.register()
        self.holders.start()
        self.hub.register()
        if self.live is not None:
            self.live.start()
        if self.shim is None:
            log.warning("heapscope: profiler inactive: %s", self.reason)
        elif self.engine is None:
            log.warning("heapscope: %s", self.engine_reason)

    def stop(self) -> None:
        if self.guard is not None:
            self.guard.close()
        self.hooks.unregister()
        self.holders.stop()
        if self.live is not None:
            self.live.stop()
        self.hub.unregister()

    # --- state ----------------------------------------------------------------------------------

    def stats(self) -> Stats:
        shim = self.shim  # read once: deactivate() may clear it from another thread
        return shim.stats() if shim is not None else Stats()

    def status(self) -> dict:
        shim, engine = self.shim, self.engine
        engine_stats = _engine_stats(engine)
        return {
            "active": shim is not None,
            "reason": self.reason,
            "shim_version": shim.version if shim is not None else None,
            "agent_version": self.agent_version,
            "mode": self.mode,
            "pid": os.getpid(),
            "python": platform.python_version(),
            "current_bytes": self.stats().current_bytes,
            "profiler_bytes": int(engine_stats.get("profiler_bytes", 0) or 0),
            "degraded": self.degraded,
            "attribution": engine is not None,
            "attribution_reason": self.engine_reason if engine is None else None,
            "pending_mode": self.pending_mode,
            "pending_mode_applies": self.pending_applies if self.pending_mode else None,
            "top_n": self.top_n,
            "tick_hz": LIVE_HZ if engine is not None else 0,
            "tracked_blocks": int(engine_stats.get("tracked_blocks", 0) or 0),
            "warnings": [protocol.clip(w, "Message") for w in list(self.warnings)[-MAX_WARNINGS:]],
            **(self.guard.status() if self.guard is not None else {}),
        }

    def retained_by_cell(self, limit: Optional[int] = None) -> Optional[list]:
        """Of the heap alive now, what each cell allocated and still holds (``None`` without the engine).
        The entries add up to the current heap: what the engine does not track (allocated before it was
        installed: the kernel's start-up) is in the entry with ``seq`` null."""
        engine, resolver = self.engine, self.resolver
        if engine is None or resolver is None:
            return None
        return resolver.retained_by_cell(
            engine.alive(), limit or self.top_n, max_cells=RETAINED_CELLS, current_bytes=self.stats().current_bytes
        )

    def history_message(self) -> dict:
        with self._send_lock:
            # Sites without stacks: a reloaded page asks `cell_detail` for the cell it opens.
            return protocol.history_message(
                self.status(), self.ledger.history(stacks=False), self.ledger.running(), self.retained_by_cell()
            )

    def deactivate(self, reason: str) -> None:
        """Stop profiling (the shim misbehaves) and tell every browser."""
        self.hooks.unregister()
        if self.live is not None:
            self.live.stop()
        self.shim = None
        self.engine = None
        self.reason = reason
        self.engine_reason = reason
        self.broadcast(protocol.status_message(self.status()))

    # --- modes ----------------------------------------------------------------------------------

    def request_mode(self, mode: str) -> None:
        """The browser's setting: applied at the next cell boundary, or (no engine, or it cannot switch)
        at the next kernel start."""
        if mode == self.mode and self.pending_mode is None:
            return
        if mode == self.mode:
            self.pending_mode = self.pending_applies = None
        else:
            self.pending_mode = mode
            self.pending_applies = "next_cell" if self.engine is not None else "restart"

    def _apply_pending_mode(self) -> None:
        """At a cell boundary (shell thread, no run_id open)."""
        engine, mode = self.engine, self.pending_mode
        if engine is None or mode is None or self.pending_applies != "next_cell":
            return
        problem = engine.switch_mode(mode)
        if problem is None:
            self.mode, self.pending_mode, self.pending_applies = mode, None, None
        else:
            log.warning("heapscope: %s", problem)
            self.pending_applies = "restart"
        self.broadcast(protocol.status_message(self.status()))

    # --- cell events (shell thread) --------------------------------------------------------------

    def on_cell_start(self, cell: CellStart) -> None:
        if self.shim is None:
            return
        with self._agent_work():
            self._open_cell(cell)
        self._hook_failures = 0

    def _open_cell(self, cell: CellStart) -> None:
        shim = self.shim
        assert shim is not None
        if self._unclosed is not None:
            self._finish_unclosed()
        if cell.level and self.ledger.depth() >= cell.level:
            # Cells at this level or deeper are still open, yet no cell run encloses them: their
            # post_run_cell never fired. Close them (aborted: IPython gave no result) before this one opens.
            key = self.ledger.open_key(cell.level)  # an id(ExecutionInfo), as CellStart.key
            log.warning("heapscope: closing a cell whose end IPython never reported")
            self._close_cell(CellEnd(key if isinstance(key, int) else None, None, "aborted", False))
        with self._send_lock:
            before = shim.stats()
            self.ledger.note_peak(before.peak_bytes)
            engine, run_id, owns = self.engine, self._run_id, False
            if engine is not None and self.ledger.depth() == 0:
                self._apply_pending_mode()
                run_id = self._run_id = engine.cell_begin()
                self._first_stack = _engine_stats(engine).get("stack_nodes")
                owns = True
            start_bytes = shim.reset_peak()
            payload = self.ledger.open_cell(
                cell.key,
                cell.cell_id,
                cell.execution_count,
                cell.source,
                time.time(),
                before,
                start_bytes,
                run_id if owns else None,
                mode=self.mode,
            )
            if run_id is not None:
                run = RunOrigin(run_id, cell.cell_id, cell.execution_count, payload["seq"], cell.filename)
                self.cells.record(run, owns_run=owns)
            self._send_start()  # an enclosing cell's, still waiting: it has run long enough
            self._start_due = payload
            if self.live is None:  # no relay to send it later
                self._send_start()
        if owns and self.guard is not None:
            try:
                self.guard.run_started(payload, cell.source, self.mode)
            except Exception as exc:  # MemoryError under a limit: the cell still runs and is recorded
                log.warning("heapscope: the guard failed at a cell's start (%s)", echo(exc))
        if owns and self.live is not None:
            self.live.cell_started()

    def on_cell_end(self, end: CellEnd) -> None:
        self._unclosed = end  # until the close completes: the next cell start finishes it otherwise
        with self._agent_work():
            self._close_cell(end)
        self._unclosed = None

    def _agent_work(self) -> ContextManager[None]:
        """What the agent allocates inside (records, site lists, messages) is profiler memory, not the heap
        of the cell that just ran or is about to run."""
        engine = self.engine
        return engine.agent_work() if engine is not None else contextlib.nullcontext()

    def _finish_unclosed(self) -> None:
        """A close that failed half-way (memory ran out): complete it before the next cell starts."""
        end, self._unclosed = self._unclosed, None
        if end is not None and self.ledger.is_open(end.key):
            log.warning("heapscope: completing the close of a cell whose end failed")
            self._close_cell(end)

    def _close_cell(self, end: CellEnd) -> None:
        shim = self.shim
        if shim is None:
            return
        with self._send_lock:
            closing = self.ledger.closing(end.key)
            due = self._start_due
            # Ended before START_AFTER: its cell_start never went out, and no ticks are wanted.
            unannounced = closing is not None and due is not None and due.get("seq") == closing.seq
            if unannounced:
                self._start_due = None
            # Totals are read first: closing the engine's run_id allocates (its site list), and that is
            # the profiler's memory, not the cell's.
            counters = shim.stats()
            sites = None
            outermost = closing is not None and self.ledger.depth() == 1
            try:
                if closing is not None and outermost and self._run_id is not None:
                    sites = self._close_engine_run(closing.seq, ticks=not unannounced)
            except Exception as exc:  # e.g. MemoryError under a memory limit: the record goes without sites
                log.warning("heapscope: the sites of a cell are missing (%s)", echo(exc))
            finally:
                # Whatever failed above (MemoryError under a memory limit...), the cell is closed and its
                # run_id is no longer the open one: the next cell opens its own, with sites.
                if outermost:
                    self._run_id = None
                status, extra = end.status, None
                if outermost and self.guard is not None:
                    try:
                        status, extra = self.guard.run_ended(status)
                    except Exception as exc:  # MemoryError under a limit: the cell still closes
                        log.warning("heapscope: the guard failed at a cell's end (%s)", echo(exc))
                record = self.ledger.close_cell(
                    end.key, status, time.time(), counters, end.execution_count, sites=sites, extra=extra
                )
            if record is not None:
                self.broadcast(protocol.cell_message(record.to_dict()))
                if outermost and self.guard is not None:
                    try:
                        self.guard.run_finished(record.to_dict(stacks=False))
                    except Exception as exc:
                        log.warning("heapscope: the guard failed after a cell (%s)", echo(exc))
            if not self.degraded and (shim.degraded() or _engine_stats(self.engine).get("degraded")):
                self.degraded = True
                log.warning(
                    "heapscope: the profiler's bookkeeping is full; totals or attribution may be low from now on"
                )
            if outermost:
                self._status_after_cell()
        self._hook_failures = 0

    def _status_after_cell(self) -> None:
        """The panel's profiler memory, heap and warnings follow the cells: sent now, or, when one went
        less than STATUS_EVERY ago (Run All), by the tick relay's next round, so that a run of small cells
        does not pay a status message each (~0.5 ms per cell)."""
        if self.live is None or time.monotonic() - self._status_at >= STATUS_EVERY:
            self._send_status()
        else:
            self._status_due = True

    def _send_status(self) -> None:
        self._status_due = False
        self._status_at = time.monotonic()
        self.broadcast(protocol.status_message(self.status()))

    def _send_start(self, after: float = 0.0) -> None:
        """Send the open cell's ``cell_start`` if it waits and the cell started ``after`` seconds ago or more."""
        with self._send_lock:
            payload = self._start_due
            if payload is not None and time.time() - payload["started_at"] >= after:
                self._start_due = None
                self.broadcast(protocol.cell_start_message(payload))

    def _relay_round(self) -> bool:
        """A round of the tick relay's thread: a ``cell_start`` that is due, what the comm hub kept back, a
        status that is due. True while a status waits (the relay comes back soon)."""
        self._send_start(START_AFTER)
        self.hub.flush()
        if self._status_due and time.monotonic() - self._status_at >= STATUS_EVERY:
            self._send_status()
        return self._status_due

    def _close_engine_run(self, seq: int, ticks: bool = True) -> Optional[dict]:
        """End the engine run_id of the outermost cell: its top sites (kept raw for cell_detail). ``ticks``:
        send its last samples first (the browser shows them while the cell runs)."""
        engine, resolver, run_id = self.engine, self.resolver, self._run_id
        self._run_id = None
        if engine is None or resolver is None or run_id is None:
            return None
        if self.live is not None and ticks:
            try:
                self.live.flush()
            except MemoryError:  # the last ticks are lost; the close goes on
                pass
        totals = engine.cell_end()
        # What is allocated from now until the next cell (this bookkeeping, kernel threads) belongs to no
        # cell: a fresh run_id that no cell owns ("outside any cell" in retained_by_cell).
        engine.between_cells()
        at_peak = resolver.own_rows(totals.pop("at_peak", []) or [], run_id, DETAIL_TOP_N, self._first_stack)
        retained = resolver.own_rows(engine.alive(run_id), run_id, DETAIL_TOP_N)
        self._detail_rows[seq] = {"top_at_peak": at_peak, "retained": retained}
        while len(self._detail_rows) > DETAIL_CELLS:
            self._detail_rows.popitem(last=False)
        return {key: resolver.top_sites(rows, self.top_n) for key, rows in self._detail_rows[seq].items()}

    def cell_detail(self, seq: int, limit: Optional[int] = None) -> Optional[dict]:
        """The finished cell ``seq`` with up to ``limit`` sites per list (``None`` when unknown)."""
        record = self.ledger.get(seq)
        if record is None:
            return None
        out = record.to_dict()
        rows, resolver = self._detail_rows.get(seq), self.resolver
        if rows is not None and resolver is not None:
            for key, value in rows.items():
                out[key] = resolver.top_sites(value, limit or DETAIL_TOP_N)
        return out

    # --- live samples (sampler thread) -------------------------------------------------------------

    def _running_cell(self) -> Optional[Tuple[int, float]]:
        running = self.ledger.running()
        return None if running is None else (running["seq"], running["started_at"])

    def _send_samples(self, seq: int, samples: list) -> None:
        # RSS beside the heap while the cell runs: one reading per batch (~7 a second), from /proc.
        rss = limits.rss_bytes()
        self.broadcast(protocol.ticks_message(seq, samples, rss=[(time.time(), rss)] if rss > 0 else []))

    def on_hook_failure(self, where: str, exc: BaseException) -> None:
        log.error("heapscope: %s failed", where, exc_info=exc)
        self.broadcast(protocol.error_message(f"heapscope agent: {where} failed: {echo(exc)}"))
        self._hook_failures += 1
        if self._hook_failures >= MAX_HOOK_FAILURES and self.shim is not None:
            self.deactivate(
                f"the heapscope agent failed {self._hook_failures} times in a row ({exc!r}); "
                "profiling is off until the kernel restarts"
            )

    # --- comm (any thread) ----------------------------------------------------------------------

    def on_comm_open(self, comm: Any, data: Any) -> None:
        if data is None or data == {}:
            data = {"protocol": protocol.PROTOCOL_VERSION, "type": "sync"}
        self.on_comm_message(comm, data)

    def on_comm_message(self, comm: Any, data: Any) -> None:
        problem = protocol.validate_incoming(data)
        if problem is not None:
            # The problem may quote the input (a 1 MB `type`): cut it, in the log line and in the reply.
            problem = short(str(problem))
            log.warning("heapscope: rejected a comm message: %s", problem)
            self.send(comm, protocol.error_message(problem))
            return
        kind = data["type"]
        if kind == "sync":
            with self._send_lock:
                self.send(comm, self.history_message())
        elif kind == "clear":
            with self._send_lock:
                self.ledger.clear()
                self._detail_rows.clear()
                self.broadcast(self.history_message())
        elif kind == "configure":
            with self._send_lock:
                if "top_n" in data:
                    self.top_n = data["top_n"]
                if "mode" in data:
                    self.request_mode(data["mode"])
                if self.guard is not None:
                    self.guard.configure(data)
                self.broadcast(protocol.status_message(self.status()))
        elif kind == "release_memory":
            if self.guard is not None:
                self.guard.release_memory()
            with self._send_lock:
                self.broadcast(protocol.status_message(self.status()))
        elif kind == "cell_detail":
            with self._send_lock:
                self.send(
                    comm, protocol.cell_detail_message(data["seq"], self.cell_detail(data["seq"], data.get("limit")))
                )
        elif kind == "retained_by_cell":
            with self._send_lock:
                self.send(comm, protocol.retained_message(self.retained_by_cell(data.get("limit"))))
        elif kind in ("holders", "release_holder"):
            self.holders.on_request(comm, data)  # not under _send_lock: a scan takes a while

    # --- sending --------------------------------------------------------------------------------

    def _checked(self, msg: dict) -> dict:
        """``msg``, or an ``error`` in its place when checks are on (``HEAPSCOPE_CHECK_MESSAGES``) and it is
        not what its schema says."""
        problem = protocol.validate_outgoing(msg) if self.check_messages else None
        if problem is None:
            return msg
        problem = short(str(problem))
        log.error("heapscope: refusing to send an invalid %s message: %s", echo(msg.get("type"), 40), problem)
        return protocol.error_message(f"heapscope agent produced an invalid message: {problem}")

    def send(self, comm: Any, msg: dict) -> None:
        self.hub.send(comm, self._checked(msg))

    def broadcast(self, msg: dict) -> None:
        if self.hub.comms():  # (no panel open: nothing to check)
            self.hub.broadcast(self._checked(msg))

    # --- headless access (heapscope report) ------------------------------------------------------

    def snapshot(self, since: int = 0, retained: bool = False) -> dict:
        """Finished cells after ``since`` (a ``seq``), and the status; JSON-able. With ``retained``, also
        ``retained_by_cell`` (it walks the live heap: ask for it once, at the end)."""
        with self._send_lock:
            out = {"status": self.status(), "cells": self.ledger.since(since), "running": self.ledger.running()}
            if retained:
                out["retained_by_cell"] = self.retained_by_cell()
            return out


def _memory_guard(agent: Agent) -> Optional[MemoryGuard]:
    """The agent's guard; its snapshot thread reads the open run's top sites through the engine."""

    def top_sites() -> List[dict]:
        engine, resolver, run_id = agent.engine, agent.resolver, agent._run_id
        if engine is None or resolver is None or run_id is None:
            return []
        rows = resolver.own_rows(engine.alive(run_id), run_id, DETAIL_TOP_N)
        return [{**site, "stack": []} for site in resolver.top_sites(rows, agent.top_n)]

    def warn() -> None:
        agent.broadcast(protocol.status_message(agent.status()))

    try:
        key = session_key()
        snapshots = Snapshots(key) if key is not None else None
    except Exception as exc:
        log.warning("heapscope: no post-mortem snapshots (%s)", echo(exc))
        snapshots = None
    try:
        guard = MemoryGuard(top_sites=top_sites, on_warning=warn, snapshots=snapshots, work=agent._agent_work)
    except Exception as exc:
        log.warning("heapscope: the memory guard is off (%s)", echo(exc))
        return None
    guard.heap_reader = lambda: agent.stats().current_bytes
    for problem in guard.problems:
        log.warning("heapscope: %s", problem)
    return guard


def _engine_stats(engine: Optional[Engine]) -> dict:
    if engine is None:
        return {}
    try:
        return engine.stats()
    except Exception:
        log.warning("heapscope: could not read the engine's stats", exc_info=True)
        return {}


def connected_agent(shell: Any, mode: str, launcher_error: Optional[str] = None, **options: Any) -> Agent:
    """An agent on this process's shim and engine (``mode``): the kernel's extension and ``heapscope run``
    both start here. ``launcher_error``: why the launcher could not preload the shim, if it said so;
    ``options``: the rest of :class:`Agent`'s keywords."""
    from .. import __version__
    from . import engine as engine_module
    from .shim import connect

    shim, reason = connect(launcher_error)
    engine, engine_reason = engine_module.connect(mode, shim is not None)
    return Agent(
        shell,
        shim,
        reason,
        __version__,
        engine=engine,
        engine_reason=engine_reason,
        mode=mode,
        top_n=engine_module.top_n_from_env(),
        **options,
    )
