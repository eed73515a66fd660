"""Who holds it: the names that keep memory alive, and what deleting each would free (issue 13).

A *holder* is a set of references the user can drop:

- ``variable``: one name of the user's namespace (IPython's own names — ``user_ns_hidden``, ``In``/``Out``,
  ``_i*``, ``_``/``__``/``___``/``_<n>`` — are left out, and so are modules and classes: they are shared
  infrastructure kept alive by ``sys.modules`` and hold nothing of their own);
- ``output``: one entry of IPython's output history, ``Out[n]`` together with its aliases ``_n``, ``_``, ``__``,
  ``___`` (in the namespace and on the display hook) and ``last_execution_result.result``;
- ``traceback``: the last exception — ``sys.last_traceback``/``last_value``/``last_type``/``last_exc``, the
  traceback formatter's stored ``tb`` and ``last_execution_result.error_in_exec`` — as one holder;
- ``other``: "not reachable from your names", the rest of the heap (heap total minus what the holders reach).

What each holder keeps alive, and how that is found and sized, is :mod:`.holders_walk`'s (its names used by callers
of this module are re-exported here).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from .holders_walk import EXACT_MIN as EXACT_MIN
from .holders_walk import MAX_HOLDERS as MAX_HOLDERS
from .holders_walk import MAX_SHARED as MAX_SHARED
from .holders_walk import PROGRESS_EVERY as PROGRESS_EVERY
from .holders_walk import Progress as Progress
from .holders_walk import Scan as Scan
from .holders_walk import _is, _module_dict, _ModuleType, bridge_function, walk_holders
from .holders_walk import block_size as block_size

log = logging.getLogger("heapscope.agent")

#: The holder of the last exception's traceback (a name no variable can have).
TRACEBACK = "last traceback"

#: IPython names that are history/aliases, never a user variable.
_IPY_NAME = re.compile(r"^(_+|_i+|_ii+|_iii+|_i\d+|_\d+|_oh|_ih|_dh|In|Out|exit|quit|get_ipython)$")


def collect_holders(shell: Any) -> Tuple[List[Tuple[str, str, List[Any], List[Any]]], List[Any]]:
    """The holders of ``shell``'s session: ``(name, kind, roots, slots)`` where ``roots`` are the objects the
    holder refers to and ``slots`` one entry per reference it owns (an object referenced by two of its slots is
    listed twice); and the barrier containers (never walked: namespace dicts, the output history)."""
    ns = shell.user_ns
    hidden = getattr(shell, "user_ns_hidden", {}) or {}
    oh = ns.get("_oh")
    if not _is(oh, dict):
        oh = {}
    dh = getattr(shell, "displayhook", None) or sys.displayhook
    dh_attrs: Dict[str, Any] = {}
    dhd = getattr(dh, "__dict__", None)
    if _is(dhd, dict):
        for a in ("_", "__", "___"):
            if a in dhd:
                dh_attrs[a] = dhd[a]
    ler = getattr(shell, "last_execution_result", None)
    ler_attrs = getattr(ler, "__dict__", None) if ler is not None else None
    ler_d: Dict[str, Any] = ler_attrs if _is(ler_attrs, dict) else {}

    holders: List[Tuple[str, str, List[Any], List[Any]]] = []
    # outputs, newest first: an alias goes to the newest output it equals
    outputs: Dict[int, Tuple[int, List[Any]]] = {}
    for n in sorted((k for k in oh if _is(k, int)), reverse=True):
        v = oh[n]
        slots = [v]  # Out[n]
        if ns.get(f"_{n}") is v:
            slots.append(v)
        if hidden.get(f"_{n}") is v:
            slots.append(v)
        outputs.setdefault(id(v), (n, slots))
        if outputs[id(v)][0] != n:
            outputs[id(v)][1].extend(slots)
    for alias in ("_", "__", "___"):
        for src in (ns, hidden, dh_attrs):
            if alias in src and id(src[alias]) in outputs:
                outputs[id(src[alias])][1].append(src[alias])
    if ler_d.get("result") is not None and id(ler_d["result"]) in outputs:
        outputs[id(ler_d["result"])][1].append(ler_d["result"])
    for _, (n, slots) in sorted(outputs.items(), key=lambda kv: kv[1][0]):
        holders.append((f"Out[{n}]", "output", [slots[0]], slots))

    # the last exception
    sysd = _module_dict(sys)
    tb_slots: List[Any] = []
    for a in ("last_traceback", "last_value", "last_type", "last_exc"):
        if sysd.get(a) is not None:
            tb_slots.append(sysd[a])
    for fmt_name in ("InteractiveTB", "SyntaxTB"):
        fmt = getattr(shell, fmt_name, None)
        fd = getattr(fmt, "__dict__", None) if fmt is not None else None
        if _is(fd, dict) and fd.get("tb") is not None:
            tb_slots.append(fd["tb"])
    if ler_d.get("error_in_exec") is not None:
        tb_slots.append(ler_d["error_in_exec"])
    if tb_slots:
        holders.append((TRACEBACK, "traceback", list({id(x): x for x in tb_slots}.values()), tb_slots))

    # variables
    for name, v in list(ns.items()):
        if not _is(name, str) or name in hidden or _IPY_NAME.match(name) or name.startswith("__"):
            continue
        if _is(v, (type, _ModuleType)):
            continue
        holders.append((name, "variable", [v], [v]))
    barriers = [ns, hidden, oh, ns.get("_ih"), ns.get("_dh"), sysd]
    if _is(dhd, dict):
        barriers.append(dhd)
    if ler_d:
        barriers.append(ler_d)
    for fmt_name in ("InteractiveTB", "SyntaxTB"):
        fmt = getattr(shell, fmt_name, None)
        fd = getattr(fmt, "__dict__", None) if fmt is not None else None
        if _is(fd, dict):
            barriers.append(fd)
    return holders, [b for b in barriers if b is not None]


def scan(
    shell: Any,
    progress: Optional[Progress] = None,
    heap_bytes: Optional[int] = None,
    bindings: Optional[Dict[str, Any]] = None,
    collect: bool = True,
    blocks: Optional[Callable[[List[int]], list]] = None,
    cells: Optional[Dict[int, str]] = None,
) -> dict:
    """The holders of ``shell``'s namespace: ``{"holders": [...], "shared": [...], "objects", "seconds"}``."""
    t0 = time.perf_counter()
    if collect:
        # Cyclic garbage is not a holder: IPython's traceback formatter leaves the failing frames in reference
        # cycles (stack_data's FrameInfo) that the next automatic collection frees; counted, they would make
        # the traceback look held from elsewhere. Only garbage is freed here.
        gc.collect()
    holders, barriers = collect_holders(shell)
    result = walk_holders(holders, barriers, progress, heap_bytes, blocks)
    holders = barriers = None  # type: ignore[assignment]
    for h in result["holders"]:
        b = (bindings or {}).get(h["name"]) if h["kind"] in ("variable", "traceback") else None
        h["cell_id"] = b[1] if b else None
        h["execution_count"] = b[2] if b else None
        out = re.match(r"^Out\[(\d+)\]$", h["name"]) if h["kind"] == "output" else None
        if out:  # the run that displayed it
            h["execution_count"] = int(out.group(1))
            h["cell_id"] = (cells or {}).get(h["execution_count"])
    result["seconds"] = round(time.perf_counter() - t0, 6)
    return result


# --- which cell last bound each name ---------------------------------------------------------------


def _changed_py(ns: Dict[Any, Any], ids: Dict[str, int]) -> Tuple[List[str], List[str]]:
    """``(changed, removed)``: the str names of ``ns`` that are new or whose value has another id than in
    ``ids``, and the names of ``ids`` no longer in ``ns``; ``ids`` updated in place. The fallback of the
    bridge's ``bindings_changed`` (shim/bridge/bindings.c), which gives the same answers."""
    changed = []
    names = 0
    for name, value in list(ns.items()):
        if type(name) is not str:
            continue
        names += 1
        if ids.get(name) != id(value):
            ids[name] = id(value)
            changed.append(name)
    removed = [name for name in ids if name not in ns] if len(ids) > names else []
    for name in removed:
        del ids[name]
    return changed, removed


_changed: Callable[[Dict[Any, Any], Dict[str, int]], Tuple[List[str], List[str]]] = (
    bridge_function("bindings_changed") or _changed_py
)


class Bindings:
    """Which cell last bound each user name: after every cell, the names whose value's id changed get that
    cell's id and execution count (one pass over the namespace per cell, in C with the bridge; ids only, no
    references kept)."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.names: Dict[str, Tuple[int, Optional[str], Optional[int]]] = {}
        self._ids: Dict[Any, int] = {}  # the namespace's ids after the last cell
        #: execution count -> cell id (the cell of an output ``Out[n]``); the most recent 10,000 runs
        self.cells: Dict[int, str] = {}

    def register(self) -> None:
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        try:
            self.shell.events.unregister("post_run_cell", self.post_run_cell)
        except ValueError:
            pass

    def post_run_cell(self, result: Any = None) -> None:
        info = getattr(result, "info", None)
        cell_id = getattr(info, "cell_id", None)
        count = getattr(result, "execution_count", None)
        if _is(count, int) and _is(cell_id, str):
            self.cells[count] = cell_id
            if len(self.cells) > 10_000:
                del self.cells[next(iter(self.cells))]  # the oldest (counts only grow)
        ns = self.shell.user_ns
        try:
            changed, removed = (_changed if type(ns) is dict else _changed_py)(ns, self._ids)
        except Exception:  # a user namespace that is not a plain dict and fails: keep what we knew
            return
        names, ids = self.names, self._ids
        cell = cell_id if _is(cell_id, str) else None
        number = count if _is(count, int) else None
        for name in changed:
            names[name] = (ids[name], cell, number)
        for name in removed:
            names.pop(name, None)
        if getattr(result, "error_in_exec", None) is not None:  # the last traceback is this cell's now
            names[TRACEBACK] = (0, cell, number)


# --- release -----------------------------------------------------------------------------------------


def release(shell: Any, name: str) -> bool:
    """Drops an output (``Out[n]`` and its aliases) or the last traceback. True when something was dropped."""
    ns = shell.user_ns
    m = re.match(r"^Out\[(\d+)\]$", name)
    if m:
        n = int(m.group(1))
        oh = ns.get("_oh")
        if not _is(oh, dict) or n not in oh:
            return False
        v = oh.pop(n)
        # IPython keeps `_n`, `_`, `__`, `___` in user_ns and again in user_ns_hidden (push(interactive=False))
        hidden = getattr(shell, "user_ns_hidden", None)
        spaces = [ns] + ([hidden] if _is(hidden, dict) else [])
        for space in spaces:
            if space.get(f"_{n}") is v:
                del space[f"_{n}"]
        dh = getattr(shell, "displayhook", None) or sys.displayhook
        dhd = getattr(dh, "__dict__", None)
        for a in ("_", "__", "___"):
            for space in spaces:
                if space.get(a) is v:
                    space[a] = ""
            if _is(dhd, dict) and dhd.get(a) is v:
                dhd[a] = ""
        ler = getattr(shell, "last_execution_result", None)
        if ler is not None and getattr(ler, "result", None) is v:
            ler.result = None
        v = None
        return True
    if name == TRACEBACK:
        found = False
        for a in ("last_traceback", "last_value", "last_type", "last_exc"):
            if getattr(sys, a, None) is not None:
                found = True
                delattr(sys, a)
        for fmt_name in ("InteractiveTB", "SyntaxTB"):
            fmt = getattr(shell, fmt_name, None)
            fd = getattr(fmt, "__dict__", None) if fmt is not None else None
            if _is(fd, dict) and fd.get("tb") is not None:
                fd["tb"] = None
                found = True
        ler = getattr(shell, "last_execution_result", None)
        if ler is not None and getattr(ler, "error_in_exec", None) is not None:
            ler.error_in_exec = None
            found = True
        return found
    return False


# --- the agent's side: comm requests, the report -----------------------------------------------------

#: Seconds between two ``holders_progress`` messages.
PROGRESS_INTERVAL = 0.25


class HoldersService:
    """Answers ``holders`` and ``release_holder`` requests for an :class:`~heapscope.agent.core.Agent` and
    keeps the :class:`Bindings` (which cell bound each name)."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.bindings = Bindings(agent.shell)
        self._lock = threading.Lock()  # one scan at a time

    def start(self) -> None:
        self.bindings.register()

    def stop(self) -> None:
        self.bindings.unregister()

    def compute(self, progress: Optional[Progress] = None, limit: Optional[int] = None) -> dict:
        """The ``Holders`` object of the protocol (``defs.schema.json``), or raises."""
        agent = self.agent
        heap = agent.stats().current_bytes if agent.shim is not None else None
        engine = agent.engine
        with self._lock:
            work = engine.agent_work() if engine is not None else contextlib.nullcontext()
            with work:
                blocks = getattr(engine.bridge, "blocks", None) if engine is not None else None
                result = scan(
                    agent.shell, progress, heap, self.bindings.names, blocks=blocks, cells=self.bindings.cells
                )
                resolver = agent.resolver
                for h in result["holders"]:
                    rows = h.pop("site_rows", None)
                    if rows and resolver is not None:
                        try:
                            h["sites"] = resolver.top_sites(rows, limit or agent.top_n)
                        except Exception:
                            log.warning("heapscope: could not resolve a holder's sites", exc_info=True)
        return wire_holders(result)

    def on_request(self, comm: Any, data: dict) -> None:
        from . import protocol

        agent = self.agent
        running = agent.ledger.running()
        if data["type"] == "release_holder":
            name = data["name"]
            ok = False
            if running is None and (name == TRACEBACK or re.match(r"^Out\[\d+\]$", name)):
                ok = release(agent.shell, name)
            agent.send(
                comm, {"protocol": protocol.PROTOCOL_VERSION, "type": "holder_released", "name": name, "released": ok}
            )
            return
        if running is not None:
            agent.send(comm, holders_message(None, "a cell is running: ask again when it has finished"))
            return
        last = [0.0]

        def progress(phase: str, done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                agent.send(
                    comm,
                    {
                        "protocol": protocol.PROTOCOL_VERSION,
                        "type": "holders_progress",
                        "phase": phase,
                        "done": int(done),
                        "total": int(max(done, total)),
                    },
                )

        try:
            result = self.compute(progress, data.get("limit"))
        except Exception as exc:  # never into the kernel
            log.warning("heapscope: the holders scan failed", exc_info=True)
            agent.send(comm, holders_message(None, f"the holders scan failed: {exc!r}"))
            return
        agent.send(comm, holders_message(result))


def holders_message(result: Optional[dict], reason: Optional[str] = None) -> dict:
    from . import protocol

    msg = {"protocol": protocol.PROTOCOL_VERSION, "type": "holders", "holders": result}
    if reason is not None:
        msg["reason"] = protocol.clip(reason, "Reason")
    return msg


def wire_holders(result: dict) -> dict:
    """``scan``'s result clipped to the schema's limits (``Holders`` of ``protocol/defs.schema.json``)."""
    from . import protocol

    holders = []
    for h in result["holders"]:
        holders.append(
            {
                "name": protocol.clip(h["name"], "HolderName"),
                "kind": h["kind"],
                "type": protocol.clip(h["type"], "FunctionName"),
                "cell_id": protocol.clip(h.get("cell_id"), "CellId"),
                "execution_count": h.get("execution_count"),
                "bytes": int(h["bytes"]),
                "reachable_bytes": int(h["reachable_bytes"]),
                "sites": h.get("sites", []),
            }
        )
    shared = [
        {"names": [protocol.clip(n, "HolderName") for n in g["names"]][:1000], "bytes": int(g["bytes"])}
        for g in result["shared"]
    ]
    return {
        "holders": holders,
        "shared": shared,
        "objects": int(result["objects"]),
        "seconds": float(result.get("seconds", 0.0)),
        "at": time.time(),
    }


def holders_json() -> str:
    """The holders of the running agent's kernel as JSON (``heapscope report`` reads it with a silent execute's
    ``user_expressions``): ``{"holders": <Holders or null>, "reason": ...}``."""
    import json

    from . import _agent

    agent = _agent
    if agent is None or getattr(agent, "holders", None) is None:
        return json.dumps({"holders": None, "reason": "the heapscope agent is not loaded"})
    try:
        return json.dumps({"holders": agent.holders.compute()})
    except Exception as exc:
        log.warning("heapscope: the holders scan failed", exc_info=True)
        return json.dumps({"holders": None, "reason": f"the holders scan failed: {exc!r}"})
