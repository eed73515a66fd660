"""Live heap samples: a daemon thread drains the native sampler and sends batched ``samples`` messages.

The native sampler (a thread inside the shim) reads the counters at a fixed rate whatever Python does;
its ring holds ~7 minutes. This Python thread needs the GIL to drain it and send: while a cell holds
the GIL in C code, samples keep being *taken* but reach the browser in one batch when the GIL is free
again (each sample carries its own time, so the plot is right, only late). jupyter_server drops iopub
floods, so at most one message per ``interval`` (default 0.15 s, ~7 messages per second) is sent, and
only while a cell runs; samples taken between cells are drained and dropped. A cell's samples wait in
the ring until the browser has been told the cell runs (its ``cell_start``, sent once it has run 0.1 s):
a shorter cell gets no ticks.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Callable, ContextManager, List, Optional, Tuple

log = logging.getLogger("heapscope.agent")

Sample = Tuple[float, int]

#: Seconds between two batches while a cell runs (≤ ~7 messages per second).
INTERVAL = 0.15
#: Seconds between two drains while no cell runs (keeps the native ring from overflowing).
IDLE_INTERVAL = 2.0


class TickRelay:
    """``drain()`` returns the native samples since the last call; ``send(seq, samples)`` ships a batch;
    ``running()`` returns ``(seq, started_at)`` of the running cell, or ``None``."""

    def __init__(
        self,
        drain: Callable[[], List[Sample]],
        send: Callable[[int, List[Sample]], None],
        running: Callable[[], Optional[Tuple[int, float]]],
        interval: float = INTERVAL,
        idle: Optional[Callable[[], Optional[bool]]] = None,
        work: Optional[Callable[[], ContextManager[None]]] = None,
        held: Optional[Callable[[], bool]] = None,
    ):
        # This thread's allocations (batches, messages) are profiler memory, not the running cell's.
        self._work = work if work is not None else contextlib.nullcontext
        # Called on every round (sends what the comm hub kept back while memory was short, a status that is
        # due); returns True when it wants the next round soon.
        self._idle = idle
        self._drain = drain
        self._send = send
        self._running = running
        self.interval = interval
        # True while the running cell's samples must wait (the browser has not been told it runs yet): they
        # stay in the native ring, and a cell that ends meanwhile gets no ticks at all.
        self._held = held
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one drain-and-send at a time (thread vs. flush at cell end)
        self._thread: Optional[threading.Thread] = None
        self._failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="heapscope-live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def cell_started(self) -> None:
        """Drop samples from before the cell and start the fast rhythm now."""
        self._wake.set()

    def flush(self) -> None:
        """Send what was sampled up to now for the running cell (call just before its ``cell`` message)."""
        self._pump()

    def _pump(self) -> bool:
        with self._lock:
            running = self._running()
            if running is not None and self._held is not None and self._held():
                return True  # left in the native ring: a later round sends them if the cell still runs
            samples = self._drain()
            if running is None or not samples:
                return running is not None
            seq, started_at = running
            batch = [s for s in samples if s[0] >= started_at]
            if batch:
                self._send(seq, batch)
            return True

    def _loop(self) -> None:
        busy = False
        while not self._stop.is_set():
            self._wake.wait(self.interval if busy else IDLE_INTERVAL)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                with self._work():
                    # The round's other work first: it sends a cell_start that is due before the cell's ticks.
                    wants = self._idle is not None and bool(self._idle())
                    busy = self._pump() or wants
                self._failures = 0
            except MemoryError:  # a memory limit reached: skip this round, this thread is not at fault
                continue
            except Exception:
                self._failures += 1
                log.error("heapscope: live sampling failed", exc_info=True)
                if self._failures >= 3:
                    log.error("heapscope: live sampling stops after 3 failures in a row")
                    return
