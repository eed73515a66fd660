"""The ``heapscope`` comm target: every open comm (one per browser tab), broadcast, safe handlers.

With ipykernel 7 and JupyterLab >= 4.4, comm messages can be handled on a subshell thread while a
cell runs on the main thread, so the set of comms is guarded by a lock and every callback is wrapped:
a failing handler is logged and never propagates into ipykernel.

Routing: ipykernel 7 sends a comm's incoming messages to the shell the comm last *sent* from (its
``_reply_subshell_for`` hook). The agent sends ``cell`` messages from the main shell, which would pin the
browser's messages to the main shell and delay a ``sync`` until the running cell ends. Our handlers are
thread-safe, so each message is instead handled on the subshell the browser sent it on (best effort:
only where ipykernel has that hook).

Sending: strings that come from the kernel (file and function names, cell sources) can hold what JSON
over UTF-8 cannot carry (a lone surrogate, ``'\\ud800.py'``), and numbers can be NaN. A message that
fails to serialise is made safe (:func:`wire_safe`) and sent again; one bad message never drops a comm.
A comm is dropped only when the browser closed it (``comm_close``), when it is closed on the kernel side,
or when more than :data:`MAX_COMMS` are open: the browser sends no ``comm_close`` when a page is closed or
reloaded, so the comm the least recently heard from is then closed.

Memory limits: under an address-space limit (``RLIMIT_AS``/``RLIMIT_DATA``: ``ulimit -v``, batch systems)
a cell can use up all the address space; then every allocation fails in every thread, including ipykernel's
IOPub thread and libzmq while they send a message (libzmq aborts on a failed allocation; a multipart
message cut half-way reaches the client as "Invalid Signature"). The agent adds to that traffic (ticks
while a cell runs, its ``cell`` message at once), so while less than :data:`LOW_WATER` bytes of address
space are left, and a probe cannot get :data:`PROBE_BLOCKS` blocks of 1 MiB from the C allocator (the
freed heap may hold room the address space does not show), it sends nothing: ticks are dropped, other messages wait (at most :data:`MAX_PENDING`) and
leave in order at the next send once memory is back (the next cell, or the browser's next request).

Every send goes through one lock: the ticker thread and the shell thread never interleave inside
ipykernel's session, and a send that fails half-way (``MemoryError``) is skipped.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from .protocol import TRUNCATION_MARKER, clip

log = logging.getLogger("heapscope.agent")

#: ``on_open(comm, data)`` and ``on_message(comm, data)`` receive the message's ``data``.
Handler = Callable[[Any, Any], None]

#: Comms kept open at most; beyond, the one least recently heard from is closed (closed pages send nothing).
MAX_COMMS = 16
#: Nesting depth beyond which :func:`wire_safe` replaces a value by a marker (kernel messages nest < 10).
MAX_DEPTH = 32

#: Address space (bytes) that must be left under a memory limit for the agent to send.
LOW_WATER = 48 << 20
#: Messages kept back while memory is short (the oldest are dropped beyond).
MAX_PENDING = 200
#: Message types dropped rather than kept back while memory is short.
DROPPABLE = frozenset({"ticks", "samples"})


def address_space_left() -> Optional[int]:
    """Bytes of address space left under ``RLIMIT_AS``/``RLIMIT_DATA`` (``None``: no limit set). Reads
    ``/proc/self/statm`` with a few bytes of allocation; a failure counts as nothing left."""
    try:
        import resource

        limits = [resource.getrlimit(r)[0] for r in (resource.RLIMIT_AS, resource.RLIMIT_DATA)]
        if all(limit == resource.RLIM_INFINITY or limit < 0 for limit in limits):
            return None
        fd = os.open("/proc/self/statm", os.O_RDONLY)
        try:
            fields = os.read(fd, 256).split()
        finally:
            os.close(fd)
        page = os.sysconf("SC_PAGE_SIZE")
        used = (int(fields[0]) * page, int(fields[5]) * page)  # total size, data + stack
        left = [limit - u for limit, u in zip(limits, used) if limit != resource.RLIM_INFINITY and limit >= 0]
        return min(left) if left else None
    except MemoryError:
        return 0
    except Exception:
        return None


#: Blocks of 1 MiB the C allocator must hand out for memory to count as back.
PROBE_BLOCKS = 8
_libc: Optional[Any] = None


def allocator_has_room(blocks: int = PROBE_BLOCKS, size: int = 1 << 20) -> bool:
    """Whether libc's ``malloc`` can hand out ``blocks`` blocks of ``size`` now (freed at once). Called
    through libc's own symbols, so the preloaded shim does not count the probe as the program's memory."""
    global _libc
    try:
        import ctypes

        if _libc is None:
            lib = ctypes.CDLL("libc.so.6")
            lib.malloc.restype, lib.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
            lib.free.restype, lib.free.argtypes = None, [ctypes.c_void_p]
            _libc = lib
        got = []
        try:
            for _ in range(blocks):
                block = _libc.malloc(size)
                if not block:
                    return False
                got.append(block)
            return True
        finally:
            for block in got:
                _libc.free(block)
    except MemoryError:
        return False
    except Exception:
        return True  # no probe possible: trust the address space figure's caller


#: Input quoted in a log line (the schemas' ``maxLength`` of each wire string is applied by
#: :func:`heapscope.agent.protocol.clip`, with its marker).
MAX_ECHO = 200


def short(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` made safe for UTF-8 and cut to ``limit`` characters with the truncation marker."""
    text = clip(text, "Message")
    return text if len(text) <= limit else text[: max(0, limit - len(TRUNCATION_MARKER))] + TRUNCATION_MARKER


def echo(value: Any, limit: int = MAX_ECHO) -> str:
    """A short, printable repr of untrusted input for a log line."""
    try:
        text = repr(value) if not isinstance(value, str) or len(value) <= limit * 4 else repr(value[: limit * 4])
    except Exception:
        text = f"<{type(value).__name__}>"
    return short(text, limit)


def wire_safe(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` that JSON over UTF-8 carries (the last resort when a message fails to
    serialise): lone surrogates replaced, NaN and infinities as null, keys as strings, nesting deeper than
    :data:`MAX_DEPTH` replaced by a marker string."""
    if isinstance(value, str):
        return clip(value, "Source")
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(value, dict):
        return {clip(str(k), "Message"): wire_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire_safe(v, depth + 1) for v in value]
    return clip(str(value), "Message")


class CommHub:
    """Registers a comm target and keeps the comms the browser opened on it."""

    def __init__(self, target: str, on_open: Handler, on_message: Handler, max_comms: int = MAX_COMMS):
        self.target = target
        self._on_open = on_open
        self._on_message = on_message
        self.max_comms = max_comms
        self._lock = threading.Lock()
        # Every send: one at a time (the ticker thread, comm threads and the shell thread all send).
        self._send_lock = threading.Lock()
        self._comms: Dict[str, Any] = {}
        self._heard: Dict[str, float] = {}  # comm id -> last time the browser sent on it
        self._manager: Optional[Any] = None
        self._failures: Dict[str, int] = {}  # message type -> sends that failed (logged once per type)
        self.skipped = 0  # messages not sent (could not be serialised, or memory ran out)
        # Messages kept back while memory is short: (comm or None for every comm, data).
        self._pending: Deque[Tuple[Optional[Any], dict]] = collections.deque(maxlen=MAX_PENDING)
        self.memory_left: Callable[[], Optional[int]] = address_space_left

    # --- lifecycle ------------------------------------------------------------------------------

    def register(self) -> None:
        import comm as comm_package

        self._manager = comm_package.get_comm_manager()
        self._manager.register_target(self.target, self._opened)

    def unregister(self) -> None:
        """Close every comm and remove the target (extension unload)."""
        for comm in self.comms():
            self._guard("closing a comm", comm.close)
        with self._lock:
            self._comms.clear()
            self._heard.clear()
        if self._manager is not None:
            self._guard("unregistering the comm target", self._manager.unregister_target, self.target, self._opened)

    # --- sending --------------------------------------------------------------------------------

    def comms(self) -> List[Any]:
        with self._lock:
            return list(self._comms.values())

    def _memory_short(self) -> bool:
        left = self.memory_left()
        return left is not None and left < LOW_WATER and not allocator_has_room()

    def _hold(self, comm: Optional[Any], data: Optional[dict]) -> bool:
        """While memory is short: keep ``data`` back (ticks are dropped). Else send what was kept back.
        Returns True when ``data`` must not be sent now."""
        if self._memory_short():
            if data is not None and data.get("type") not in DROPPABLE:
                self._pending.append((comm, data))
            self.skipped += 1
            return True
        while self._pending:
            try:
                target, held = self._pending.popleft()
            except IndexError:
                break
            for each in [target] if target is not None else self.comms():
                self._send_now(each, held)
        return False

    def flush(self) -> None:
        """Send what was kept back while memory was short, if memory is back."""
        if self._pending:
            self._hold(None, None)

    def send(self, comm: Any, data: dict) -> bool:
        """Send ``data`` on one comm. A message that cannot be sent is skipped (logged once per message
        type); the comm stays, unless it is closed. Under a memory limit with little left, it waits."""
        if self._hold(comm, data):
            return False
        return self._send_now(comm, data)

    def _send_now(self, comm: Any, data: dict) -> bool:
        if getattr(comm, "_closed", False):
            self._forget(comm)
            return False
        try:
            with self._send_lock:
                try:
                    comm.send(data)
                except (ValueError, TypeError, RecursionError):  # incl. UnicodeEncodeError: make it safe
                    comm.send(wire_safe(data))
            return True
        except MemoryError:
            self.skipped += 1
            return False
        except Exception as exc:
            self.skipped += 1
            kind = data.get("type") if isinstance(data, dict) else None
            kind = kind if isinstance(kind, str) else "?"
            count = self._failures.get(kind, 0) + 1
            self._failures[kind] = count
            if count == 1 or count % 1000 == 0:
                log.warning("heapscope: could not send a %s message (%d so far): %s", echo(kind, 40), count, echo(exc))
            return False

    def broadcast(self, data: dict) -> int:
        """Send ``data`` on every open comm; returns how many got it."""
        comms = self.comms()
        if not comms or self._hold(None, data):
            return 0
        return sum(self._send_now(comm, data) for comm in comms)

    # --- incoming -------------------------------------------------------------------------------

    def _opened(self, comm: Any, msg: dict) -> None:
        # Called by ipykernel's CommManager; raising here would make it close the comm.
        with self._lock:
            self._comms[comm.comm_id] = comm
            self._heard[comm.comm_id] = time.monotonic()
            stale = self._stale()
        for old in stale:
            log.info(
                "heapscope: closing comm %s: more than %d comms are open and it was the least recently "
                "used (a closed page sends no comm_close)",
                old.comm_id,
                self.max_comms,
            )
            self._forget(old)
            self._guard("closing a stale comm", old.close)
        if hasattr(comm, "_reply_subshell_for"):
            # The subshell the browser sent the message on (see the module docstring).
            comm._reply_subshell_for = lambda data, subshell_id: subshell_id
        comm.on_msg(lambda m: self._guard("handling a comm message", self._received, comm, _data(m)))
        comm.on_close(lambda m: self._forget(comm))
        self._guard("handling a comm open", self._on_open, comm, _data(msg))

    def _received(self, comm: Any, data: Any) -> None:
        with self._lock:
            if comm.comm_id in self._comms:
                self._heard[comm.comm_id] = time.monotonic()
        self._on_message(comm, data)

    def _stale(self) -> List[Any]:
        """Comms beyond ``max_comms``, least recently heard from first (call with the lock held)."""
        extra = len(self._comms) - self.max_comms
        if extra <= 0:
            return []
        order = sorted(self._comms, key=lambda cid: self._heard.get(cid, 0.0))
        return [self._comms[cid] for cid in order[:extra]]

    def _forget(self, comm: Any) -> None:
        with self._lock:
            comm_id = str(getattr(comm, "comm_id", ""))
            self._comms.pop(comm_id, None)
            self._heard.pop(comm_id, None)

    @staticmethod
    def _guard(what: str, fn: Callable, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.error("heapscope: error while %s", what, exc_info=True)


def _data(msg: Any) -> Any:
    """The ``data`` of a comm message; ``None`` when the message has none."""
    try:
        return msg["content"].get("data")
    except Exception:
        return None
