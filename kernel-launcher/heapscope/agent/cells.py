"""Which notebook cell a code location belongs to.

IPython compiles each cell under a file name its compiler chooses (``shell.compile.get_code_name``):
ipykernel's ``/tmp/ipykernel_<pid>/<murmur2 of the raw source>.py``, plain IPython's
``<ipython-input-N-hash>``. Identical sources share a file name, and a function keeps pointing at the
file of the cell that defined it, whichever cell calls it later.

:class:`CellMap` records, at each ``pre_run_cell``, the file name of the cell that starts, with the
engine's run_id (one per cell). A location ``(file, line)`` seen in an allocation made during run_id ``e``
belongs to *the most recent run of that file name started at or before* ``e``: a function defined in
cell 2 and called in cell 5 points at cell 2's line; a cell re-run many times maps each allocation to
the run that was current when it was made. Lines are those of the compiled cell, counted from 1.

Pure bookkeeping: no IPython, no bridge. Thread-safe.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from typing import Any, Dict, List, NamedTuple, Optional

#: Cell runs remembered (oldest forgotten first); each is a few dozen bytes.
MAX_RUNS = 100_000


class RunOrigin(NamedTuple):
    """Where one run's code came from: the engine's run id, the cell, and the file name its code has."""

    run_id: int
    cell_id: Optional[str]
    execution_count: Optional[int]
    seq: Optional[int]
    filename: Optional[str]


def code_name(
    shell: Any, raw_cell: str, transformed_cell: Optional[str], execution_count: Optional[int]
) -> Optional[str]:
    """The file name IPython's compiler gives this cell's code (what ``co_filename`` will say).

    ``execution_count`` is the number IPython passes to ``compile.cache`` (the count before it was
    incremented). Returns ``None`` when the shell's compiler cannot say.
    """
    compiler = getattr(shell, "compile", None)
    get_code_name = getattr(compiler, "get_code_name", None)
    if get_code_name is None:
        return None
    try:
        name = get_code_name(
            raw_cell, transformed_cell if transformed_cell is not None else raw_cell, execution_count or 0
        )
    except Exception:
        return None
    return name if isinstance(name, str) and name else None


class CellMap:
    """File names of executed cells, by run_id; resolves ``(file, run_id)`` to the cell run."""

    def __init__(self, max_runs: int = MAX_RUNS):
        self._lock = threading.Lock()
        self._max_runs = max_runs
        # filename -> (run_ids ascending, runs in the same order)
        self._by_file: Dict[str, tuple] = {}
        # run_id -> the run that opened it
        self._by_run_id: Dict[int, RunOrigin] = {}
        self._runs: deque = deque()  # every run, oldest first, for eviction

    def record(self, run: RunOrigin, owns_run: bool = True) -> None:
        """Remember a cell run that starts now (its run_id is the newest so far). A nested cell (a
        ``run_cell`` inside a cell) runs inside its enclosing cell's run_id: ``owns_run=False``."""
        with self._lock:
            if owns_run:
                self._by_run_id[run.run_id] = run
            if run.filename is not None:
                run_ids, runs = self._by_file.setdefault(run.filename, ([], []))
                # Same run_id (a nested run of the same source): the later run wins, as it redefined the code.
                i = bisect.bisect_right(run_ids, run.run_id)
                run_ids.insert(i, run.run_id)
                runs.insert(i, run)
            self._runs.append(run)
            while len(self._runs) > self._max_runs:
                self._forget(self._runs.popleft())

    def _forget(self, run: RunOrigin) -> None:
        if self._by_run_id.get(run.run_id) is run:
            del self._by_run_id[run.run_id]
        if run.filename is None or run.filename not in self._by_file:
            return
        run_ids, runs = self._by_file[run.filename]
        for i in range(bisect.bisect_left(run_ids, run.run_id), bisect.bisect_right(run_ids, run.run_id)):
            if runs[i] is run:
                del run_ids[i], runs[i]
                break
        if not run_ids:
            del self._by_file[run.filename]

    def resolve(self, filename: str, run_id: int) -> Optional[RunOrigin]:
        """The run of the cell compiled as ``filename`` that was current in ``run_id``, or ``None``
        when ``filename`` is no cell's (or only of cells that started after ``run_id``)."""
        with self._lock:
            entry = self._by_file.get(filename)
            if entry is None:
                return None
            run_ids, runs = entry
            i = bisect.bisect_right(run_ids, run_id)
            return runs[i - 1] if i else None

    def origin_of_run(self, run_id: int) -> Optional[RunOrigin]:
        """The cell run that opened ``run_id`` (``None`` for time outside any recorded cell)."""
        with self._lock:
            return self._by_run_id.get(run_id)

    def is_cell_file(self, filename: str) -> bool:
        with self._lock:
            return filename in self._by_file

    def runs(self) -> List[RunOrigin]:
        with self._lock:
            return list(self._runs)

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)
