"""IPython ``pre_run_cell`` / ``post_run_cell`` hooks, translated into plain cell events.

IPython fires ``post_run_cell`` from a ``finally`` block, so a cell that raises or is interrupted
still closes its record. It fires it also for empty cells, which never got a ``pre_run_cell``.
Silent executions fire neither. Each hook is wrapped: nothing raised here reaches the user's cell
output (IPython would print a traceback into it).

Interrupts: a Ctrl-C (SIGINT, ``KeyboardInterrupt``) that lands while the agent opens or closes a cell
would leave its bookkeeping half done (a cell "running" for ever, no engine run_id for later cells). On the
main thread, both hooks therefore hold SIGINT back (:func:`interrupts_deferred`). A signal that arrived
during ``post_run_cell`` is dropped: the cell it was meant for has ended. One that arrived during
``pre_run_cell`` is meant for the cell about to run: it is sent again (:data:`REDELIVER_DELAY` later, from
another thread, so that it lands in the cell's code rather than in IPython's event loop, which would only
print it). An interrupt that lands before the deferral takes hold (a few bytecodes) makes the hook start
again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any, Callable, Iterator, List, Optional

from .cells import code_name
from .protocol import clip

log = logging.getLogger("heapscope.agent")


@dataclass(frozen=True)
class CellStart:
    key: int  # identity of IPython's ExecutionInfo, to pair the end with its start
    cell_id: Optional[str]
    execution_count: Optional[int]
    source: str
    filename: Optional[str] = None  # the file name IPython compiles the cell under (co_filename)
    level: int = 0  # IPython cell runs on the stack, this one included (0: unknown)


@dataclass(frozen=True)
class CellEnd:
    key: Optional[int]
    execution_count: Optional[int]
    status: str  # "ok", "error", "interrupted" or "aborted"
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
    return clip(cell_id, "CellId") if isinstance(cell_id, str) and cell_id else None


def cell_start(shell: Any, info: Any) -> CellStart:
    # Only cells stored in the history have an execution count; run_cell has already incremented it.
    current = getattr(shell, "execution_count", None)
    stored = isinstance(current, int) and getattr(info, "store_history", False)
    count = current - 1 if stored and isinstance(current, int) else None
    raw = getattr(info, "raw_cell", "") or ""
    # run_cell passes the count before its increment to compile.cache, which names the code.
    number = count if stored else current
    filename = code_name(shell, raw, getattr(info, "transformed_cell", None), number)
    return CellStart(id(info), _cell_id(shell, info), count, raw, filename, _cell_level())


def _cell_level() -> int:
    """How many cell runs are on this thread's stack: one ``InteractiveShell.run_cell_async`` frame per
    level (a cell, a ``run_cell`` nested in it, ...), whether ipykernel awaits it or ``run_cell`` drives it.
    A ledger deeper than this holds a cell whose ``post_run_cell`` never fired (an interrupt that landed in
    IPython between the cell's code and the hook, or in another ``post_execute`` callback)."""
    level = 0
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "run_cell_async" and code.co_filename.endswith("interactiveshell.py"):
            level += 1
        frame = frame.f_back
    return level


def cell_end(result: Any) -> CellEnd:
    if result is None:  # run_cell itself failed
        return CellEnd(None, None, "aborted", False)
    info = getattr(result, "info", None)
    raw = getattr(info, "raw_cell", "") or ""
    failed = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
    count = getattr(result, "execution_count", None)
    if not isinstance(count, int) or not getattr(info, "store_history", False):
        count = None
    status = "interrupted" if isinstance(failed, KeyboardInterrupt) else "error" if failed else "ok"
    return CellEnd(id(info), count, status, not raw.strip())


#: Times a hook is started again when an interrupt lands before SIGINT is deferred.
ATTEMPTS = 3
#: Seconds after ``pre_run_cell`` at which an interrupt that arrived during it is sent again.
REDELIVER_DELAY = 0.05


def _redeliver_interrupt() -> None:
    timer = threading.Timer(REDELIVER_DELAY, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[List[int]]:
    """Hold SIGINT back for the ``with`` block (main thread only; elsewhere signals cannot land anyway).
    Yields a list that holds the signals that arrived meanwhile (dropped by the caller)."""
    arrived: List[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield arrived
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: arrived.append(signum))
    except (ValueError, OSError, TypeError):  # no signal support here: run undeferred
        yield arrived
        return
    try:
        yield arrived
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def whole_sends(session: Any) -> None:
    """Make every message the main thread sends through ``session`` leave whole.

    ipykernel sends a reply from the main thread with ``KeyboardInterrupt`` enabled, and pyzmq sends a
    multipart message one frame at a time: a Ctrl-C between two frames leaves the message cut, and the
    next message is appended to it. The client then reads one message with a wrong signature ("Invalid
    Signature") and loses both. Here SIGINT is held back for the length of each send and delivered
    right after it, so the interrupt still lands where it would have, with the message whole. Sends
    from other threads (iopub's) cannot be interrupted and go through unchanged."""
    send = getattr(session, "send", None)
    if send is None or getattr(send, "_heapscope", False):
        return

    def send_then_deliver(*args: Any, **kwargs: Any) -> Any:
        arrived: List[int] = []
        try:
            with interrupts_deferred() as arrived:
                return send(*args, **kwargs)
        finally:
            if arrived:
                signal.raise_signal(signal.SIGINT)

    send_then_deliver._heapscope = True  # type: ignore[attr-defined]
    session.send = send_then_deliver


class CellHooks:
    """Registers the two IPython events and calls ``on_start(CellStart)`` / ``on_end(CellEnd)``."""

    def __init__(
        self,
        shell: Any,
        on_start: Callable[[CellStart], None],
        on_end: Callable[[CellEnd], None],
        on_failure: Callable[[str, BaseException], None],
    ):
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
        if self._run("pre_run_cell", lambda: self._on_start(cell_start(self.shell, info))):
            _redeliver_interrupt()

    def post_run_cell(self, result: Any) -> None:
        def close() -> None:
            end = cell_end(result)
            if not end.empty:
                self._on_end(end)

        self._run("post_run_cell", close)

    def _run(self, where: str, work: Callable[[], None]) -> bool:
        """Run ``work`` with SIGINT deferred; returns whether an interrupt arrived meanwhile (also one that
        landed just before the deferral held, or just after it ended)."""
        done = interrupted = False
        for _ in range(ATTEMPTS):
            try:
                if not done:
                    with interrupts_deferred() as dropped:
                        try:
                            work()
                        finally:
                            done = True
                    if dropped:
                        interrupted = True
                        log.info("heapscope: an interrupt arrived during %s, after the cell's bookkeeping", where)
                return interrupted
            except KeyboardInterrupt:
                interrupted = True
                if done:  # after the work (SIGINT restored): the work is not repeated
                    return True
                continue  # before the deferral held: the work had not started, do it again
            except BaseException as exc:
                self._failed(where, exc)
                return interrupted
        self._failed(where, KeyboardInterrupt())
        return True

    def _failed(self, where: str, exc: BaseException) -> None:
        try:
            self._on_failure(where, exc)
        except BaseException:
            log.error("heapscope: could not report a failure in %s", where, exc_info=True)
