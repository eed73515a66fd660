"""The per-cell ledger: which cell ran, and the tracked heap at its start, peak and end.

Pure bookkeeping (no IPython, no ctypes, no I/O) so it can be tested alone and reused by
``heapscope run`` later. Thread-safe: the shell thread opens and closes cells while comm handlers
(possibly on a subshell thread) read the history.

Cells can nest (a cell that calls ``get_ipython().run_cell(...)``); the shim has one peak counter,
so before it is reset for an inner cell the peak seen so far is folded into every open cell
(:meth:`Ledger.note_peak`).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Dict, Hashable, List, Mapping, NamedTuple, Optional, Sequence

from .protocol import clip

#: Finished cells kept in memory; older ones are forgotten first.
MAX_HISTORY = 10_000
#: Finished cells that keep their site lists (``top_at_peak``, ``retained``); older ones keep their totals.
MAX_SITE_CELLS = 1_000


class Stats(NamedTuple):
    """A snapshot of the shim's counters (``struct heapscope_stats``)."""

    current_bytes: int = 0
    peak_bytes: int = 0
    allocated_bytes: int = 0
    freed_bytes: int = 0
    alloc_count: int = 0
    free_count: int = 0


@dataclass
class CellRun:
    """One finished cell: the protocol's CellRun (``docs/protocol.md``)."""

    seq: int
    cell_id: Optional[str]
    execution_count: Optional[int]
    source: str
    start_bytes: int
    peak_bytes: int
    end_bytes: int
    status: str
    started_at: float
    ended_at: float
    allocated_bytes: int = 0
    freed_bytes: int = 0
    alloc_count: int = 0
    free_count: int = 0
    #: Sites (docs/protocol.md) holding the cell's peak, and retained at its end; ``None`` (left out of
    #: the protocol object) when line-level attribution is unavailable.
    top_at_peak: Optional[List[dict]] = None
    retained: Optional[List[dict]] = None
    #: The profiling mode in force while the cell ran (``default``/``exact``); left out when unknown.
    mode: Optional[str] = None
    #: Further protocol fields (agent/guard.py): rss_start_bytes, rss_peak_bytes, rss_end_bytes,
    #: guard_stop (status guard), post_mortem (status killed).
    extra: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self, stacks: bool = True) -> dict:
        """The protocol object. ``stacks=False``: sites with empty ``stack`` lists (``history``)."""
        out = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("top_at_peak", "retained", "extra") and not (k == "mode" and v is None)
        }
        out.update(self.extra)
        for key in ("top_at_peak", "retained"):
            sites = getattr(self, key)
            if sites is not None:
                out[key] = [dict(site) if stacks else {**site, "stack": []} for site in sites]
        return out


@dataclass
class _OpenCell:
    key: Hashable
    seq: int
    cell_id: Optional[str]
    execution_count: Optional[int]
    source: str
    started_at: float
    start: Stats
    start_bytes: int
    peak_bytes: int = field(default=0)
    #: The engine run_id this cell opened (``None``: no engine, or a nested cell inside another's run_id).
    run_id: Optional[int] = None
    mode: Optional[str] = None

    def start_payload(self) -> dict:
        return {
            "seq": self.seq,
            "cell_id": self.cell_id,
            "execution_count": self.execution_count,
            "start_bytes": self.start_bytes,
            "started_at": self.started_at,
        }


def _delta(end: int, start: int) -> int:
    return max(0, end - start)


class Ledger:
    """Open cells (a stack, for nesting) and the history of finished ones."""

    def __init__(self, max_history: int = MAX_HISTORY):
        self._lock = threading.RLock()
        self._open: List[_OpenCell] = []
        self._done: deque = deque(maxlen=max_history)
        self._with_sites: deque = deque()  # finished records that hold site lists, oldest first
        self._next_seq = 1

    def note_peak(self, peak_bytes: int) -> None:
        """Fold a peak observed by the shim into every open cell (call before resetting the shim's peak)."""
        with self._lock:
            for cell in self._open:
                cell.peak_bytes = max(cell.peak_bytes, peak_bytes)

    def open_cell(
        self,
        key: Hashable,
        cell_id: Optional[str],
        execution_count: Optional[int],
        source: str,
        started_at: float,
        start: Stats,
        start_bytes: int,
        run_id: Optional[int] = None,
        mode: Optional[str] = None,
    ) -> dict:
        """Record a cell that starts now; returns its ``cell_start`` payload.

        ``start`` is the counters read before the shim's peak was reset; ``start_bytes`` is the heap
        at the reset (the value ``heapscope_reset_peak`` returned). The source and the cell id are kept
        cut to the schema's ``maxLength`` (with the truncation marker) and made safe for UTF-8
        (:func:`heapscope.agent.protocol.clip`).
        """
        source = clip(source, "Source") if isinstance(source, str) else ""
        cell_id = clip(cell_id, "CellId")
        with self._lock:
            cell = _OpenCell(
                key,
                self._next_seq,
                cell_id,
                execution_count,
                source,
                started_at,
                start,
                start_bytes,
                peak_bytes=start_bytes,
                run_id=run_id,
                mode=mode,
            )
            self._next_seq += 1
            self._open.append(cell)
            return cell.start_payload()

    def close_cell(
        self,
        key: Hashable,
        status: str,
        ended_at: float,
        end: Stats,
        execution_count: Optional[int] = None,
        totals: Optional[Mapping[str, Any]] = None,
        sites: Optional[Mapping[str, List[dict]]] = None,
        extra: Optional[Mapping[str, Any]] = None,
    ) -> Optional[CellRun]:
        """Close the open cell opened with ``key`` (else the innermost one); ``None`` if none is open.

        Cells opened after it (nested ones that never closed) are closed as ``aborted``.
        ``totals`` (the engine's ``cell_end()``: ``peak_bytes``, ``end_bytes``, ``allocated_bytes``, ...)
        override what ``end`` gives for the closed cell; ``sites`` gives its ``top_at_peak`` and ``retained``.
        """
        with self._lock:
            if not self._open:
                return None
            index = self._index(key)
            while len(self._open) > index + 1:
                self._finish(self._open.pop(), "aborted", ended_at, end, None)
            record = self._finish(self._open.pop(), status, ended_at, end, execution_count, totals, sites)
            if extra:
                record.extra.update(extra)
            return record

    def _index(self, key: Hashable) -> int:
        return next((i for i in range(len(self._open) - 1, -1, -1) if self._open[i].key == key), len(self._open) - 1)

    def closing(self, key: Hashable) -> Optional[_OpenCell]:
        """The open cell :meth:`close_cell` would close for ``key`` (``None`` if none is open)."""
        with self._lock:
            return self._open[self._index(key)] if self._open else None

    def is_open(self, key: Hashable) -> bool:
        """Whether the cell opened with ``key`` is still open."""
        with self._lock:
            return any(cell.key == key for cell in self._open)

    def depth(self) -> int:
        """How many cells are open."""
        with self._lock:
            return len(self._open)

    def open_key(self, depth: int) -> Optional[Hashable]:
        """The key of the open cell at ``depth`` (1: the outermost), or ``None``."""
        with self._lock:
            return self._open[depth - 1].key if 0 < depth <= len(self._open) else None

    def _finish(
        self,
        cell: _OpenCell,
        status: str,
        ended_at: float,
        end: Stats,
        execution_count: Optional[int],
        totals: Optional[Mapping[str, Any]] = None,
        sites: Optional[Mapping[str, List[dict]]] = None,
    ) -> CellRun:
        counters: Dict[str, Any] = {
            "end_bytes": end.current_bytes,
            "allocated_bytes": _delta(end.allocated_bytes, cell.start.allocated_bytes),
            "freed_bytes": _delta(end.freed_bytes, cell.start.freed_bytes),
            "alloc_count": _delta(end.alloc_count, cell.start.alloc_count),
            "free_count": _delta(end.free_count, cell.start.free_count),
        }
        engine_peak = 0
        if totals:
            counters.update({k: int(totals[k]) for k in counters if k in totals})
            engine_peak = int(totals.get("peak_bytes", 0))
        peak = max(cell.peak_bytes, end.peak_bytes, engine_peak, cell.start_bytes, counters["end_bytes"])
        # The shim's peak covers only the time since the innermost reset; an enclosing cell
        # keeps the larger of what it saw and what is seen now.
        for outer in self._open:
            outer.peak_bytes = max(outer.peak_bytes, peak)
        record = CellRun(
            seq=cell.seq,
            cell_id=cell.cell_id,
            execution_count=execution_count if execution_count is not None else cell.execution_count,
            source=cell.source,
            start_bytes=cell.start_bytes,
            peak_bytes=peak,
            status=status,
            started_at=cell.started_at,
            ended_at=ended_at,
            top_at_peak=(sites or {}).get("top_at_peak"),
            retained=(sites or {}).get("retained"),
            mode=cell.mode,
            **counters,
        )
        self._done.append(record)
        if record.top_at_peak is not None or record.retained is not None:
            self._with_sites.append(record)
            while len(self._with_sites) > MAX_SITE_CELLS:
                old = self._with_sites.popleft()
                old.top_at_peak = old.retained = None
        return record

    def add_finished(self, runs: Sequence[Mapping[str, Any]]) -> List[CellRun]:
        """Runs of a dead kernel (agent/guard.py's recover): appended as finished runs with new seqs."""
        known = set(CellRun.__dataclass_fields__) - {"seq", "extra"}
        added = []
        with self._lock:
            for run in runs:
                fields = {k: v for k, v in run.items() if k in known}
                try:
                    record = CellRun(seq=self._next_seq, **fields)
                except TypeError:
                    continue
                record.extra.update({k: v for k, v in run.items() if k not in known and k != "seq"})
                self._next_seq += 1
                self._done.append(record)
                added.append(record)
        return added

    def history(self, stacks: bool = True) -> List[dict]:
        """Finished cells in execution order, as protocol dicts."""
        with self._lock:
            return [r.to_dict(stacks) for r in self._done]

    def get(self, seq: int) -> Optional[CellRun]:
        """The finished cell with this ``seq`` (``None`` when unknown or forgotten)."""
        with self._lock:
            return next((r for r in reversed(self._done) if r.seq == seq), None)

    def since(self, seq: int) -> List[dict]:
        """Finished cells whose ``seq`` is greater than ``seq``."""
        with self._lock:
            return [r.to_dict() for r in self._done if r.seq > seq]

    def running(self) -> Optional[dict]:
        """The ``cell_start`` payload of the innermost open cell, or ``None``."""
        with self._lock:
            return self._open[-1].start_payload() if self._open else None

    def clear(self) -> None:
        """Forget finished cells (open ones stay open)."""
        with self._lock:
            self._done.clear()
            self._with_sites.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)
