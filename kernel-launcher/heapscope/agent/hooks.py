"""IPython ``pre_run_cell`` / ``post_run_cell`` hooks, translated into plain cell events.

IPython fires ``post_run_cell`` from a ``finally`` block, so a cell that raises or is interrupted
still closes its record. It fires it also for empty cells, which never got a ``pre_run_cell``.
Silent executions fire neither. Each hook is wrapped: nothing raised here reaches the user's cell
output (IPython would print a traceback into it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .cells import code_name

log = logging.getLogger("heapscope.agent")


@dataclass(frozen=True)
class CellStart:
    key: int  # identity of IPython's ExecutionInfo, to pair the end with its start
    cell_id: Optional[str]
    execution_count: Optional[int]
    source: str
    filename: Optional[str] = None  # the file name IPython compiles the cell under (co_filename)


@dataclass(frozen=True)
class CellEnd:
    key: Optional[int]
    execution_count: Optional[int]
    status: str  # "ok", "error" or "aborted"
    empty: bool  # an empty cell: IPython skipped pre_run_cell


def _cell_id(shell: Any, info: Any) -> Optional[str]:
    if hasattr(info, "cell_id"):
        # None for a nested run_cell(...) inside a cell: it is not the request's cell.
        cell_id = info.cell_id
    else:
        # Older IPython has no ExecutionInfo.cell_id: the cellId of the execute request running now.
        kernel = getattr(shell, "kernel", None)
        parent = kernel.get_parent() if kernel is not None else None
        metadata = (parent or {}).get("metadata") or {}
        cell_id = metadata.get("cellId")
    return cell_id if isinstance(cell_id, str) and cell_id else None


def cell_start(shell: Any, info: Any) -> CellStart:
    # Only cells stored in the history have an execution count; run_cell has already incremented it.
    current = getattr(shell, "execution_count", None)
    stored = isinstance(current, int) and getattr(info, "store_history", False)
    count = current - 1 if stored else None
    raw = getattr(info, "raw_cell", "") or ""
    # run_cell passes the count before its increment to compile.cache, which names the code.
    number = count if stored else current
    filename = code_name(shell, raw, getattr(info, "transformed_cell", None), number)
    return CellStart(id(info), _cell_id(shell, info), count, raw, filename)


def cell_end(result: Any) -> CellEnd:
    if result is None:  # run_cell itself failed
        return CellEnd(None, None, "aborted", False)
    info = getattr(result, "info", None)
    raw = getattr(info, "raw_cell", "") or ""
    failed = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
    count = getattr(result, "execution_count", None)
    if not isinstance(count, int) or not getattr(info, "store_history", False):
        count = None
    return CellEnd(id(info), count, "error" if failed else "ok", not raw.strip())


class CellHooks:
    """Registers the two IPython events and calls ``on_start(CellStart)`` / ``on_end(CellEnd)``."""

    def __init__(self, shell: Any, on_start: Callable[[CellStart], None], on_end: Callable[[CellEnd], None],
                 on_failure: Callable[[str, BaseException], None]):
        self.shell = shell
        self._on_start = on_start
        self._on_end = on_end
        self._on_failure = on_failure

    def register(self) -> None:
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        for event, fn in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.shell.events.unregister(event, fn)
            except ValueError:
                pass

    def pre_run_cell(self, info: Any) -> None:
        try:
            self._on_start(cell_start(self.shell, info))
        except BaseException as exc:  # incl. a KeyboardInterrupt that lands in the hook
            self._failed("pre_run_cell", exc)

    def post_run_cell(self, result: Any) -> None:
        try:
            end = cell_end(result)
            if not end.empty:
                self._on_end(end)
        except BaseException as exc:
            self._failed("post_run_cell", exc)

    def _failed(self, where: str, exc: BaseException) -> None:
        try:
            self._on_failure(where, exc)
        except BaseException:
            log.error("heapscope: could not report a failure in %s", where, exc_info=True)
