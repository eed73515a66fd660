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
from dataclasses import asdict, dataclass, field
from typing import Hashable, List, NamedTuple, Optional

#: Finished cells kept in memory; older ones are forgotten first.
MAX_HISTORY = 10_000


class Stats(NamedTuple):
    """A snapshot of the shim's counters (``struct heapscope_stats``)."""

    current_bytes: int = 0
    peak_bytes: int = 0
    allocated_bytes: int = 0
    freed_bytes: int = 0
    alloc_count: int = 0
    free_count: int = 0


@dataclass
class CellRecord:
    """One finished cell: the protocol's CellRecord (``docs/protocol.md``)."""

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

    def to_dict(self) -> dict:
        return asdict(self)


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
    ) -> dict:
        """Record a cell that starts now; returns its ``cell_start`` payload.

        ``start`` is the counters read before the shim's peak was reset; ``start_bytes`` is the heap
        at the reset (the value ``heapscope_reset_peak`` returned).
        """
        with self._lock:
            cell = _OpenCell(key, self._next_seq, cell_id, execution_count, source, started_at, start,
                             start_bytes, peak_bytes=start_bytes)
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
    ) -> Optional[CellRecord]:
        """Close the open cell opened with ``key`` (else the innermost one); ``None`` if none is open.

        Cells opened after it (nested ones that never closed) are closed as ``aborted``.
        """
        with self._lock:
            if not self._open:
                return None
            index = next((i for i in range(len(self._open) - 1, -1, -1) if self._open[i].key == key),
                         len(self._open) - 1)
            while len(self._open) > index + 1:
                self._finish(self._open.pop(), "aborted", ended_at, end, None)
            return self._finish(self._open.pop(), status, ended_at, end, execution_count)

    def _finish(self, cell: _OpenCell, status: str, ended_at: float, end: Stats,
                execution_count: Optional[int]) -> CellRecord:
        peak = max(cell.peak_bytes, end.peak_bytes, cell.start_bytes, end.current_bytes)
        # The shim's peak covers only the time since the innermost reset; an enclosing cell
        # keeps the larger of what it saw and what is seen now.
        for outer in self._open:
            outer.peak_bytes = max(outer.peak_bytes, peak)
        record = CellRecord(
            seq=cell.seq,
            cell_id=cell.cell_id,
            execution_count=execution_count if execution_count is not None else cell.execution_count,
            source=cell.source,
            start_bytes=cell.start_bytes,
            peak_bytes=peak,
            end_bytes=end.current_bytes,
            status=status,
            started_at=cell.started_at,
            ended_at=ended_at,
            allocated_bytes=_delta(end.allocated_bytes, cell.start.allocated_bytes),
            freed_bytes=_delta(end.freed_bytes, cell.start.freed_bytes),
            alloc_count=_delta(end.alloc_count, cell.start.alloc_count),
            free_count=_delta(end.free_count, cell.start.free_count),
        )
        self._done.append(record)
        return record

    def history(self) -> List[dict]:
        """Finished cells in execution order, as protocol dicts."""
        with self._lock:
            return [r.to_dict() for r in self._done]

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

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)

