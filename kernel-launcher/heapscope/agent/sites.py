"""Allocation sites: the engine's ``(stack_id, bytes, count)`` rows turned into the protocol's site objects.

A *site* (``docs/protocol.md``, "Sites") is::

    {"file", "line", "function",        # innermost Python frame of the stack
     "cell_id", "cell_line",            # innermost frame that is notebook cell code (null when none is)
     "execution_count",                 # that cell run's execution count (null when none)
     "bytes", "count",
     "stack": [{"file", "line", "function", "cell_id", "cell_line", "execution_count"}, ...]}  # innermost first

The stack is cut after the outermost cell frame (what is outside it is IPython's or the script
runner's machinery), so an allocation made deep inside pandas lists pandas' frames down to the cell
line that called it.

Pure: the bridge is reached only through the ``stack`` callable given to :class:`SiteResolver`
(``heapscope._bridge.stack``: ``stack_id -> (run_id, [(filename, function, line), ...])``).
"""

from __future__ import annotations

import linecache
import os
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .cells import CellMap
from .protocol import clip

#: Default number of sites per list in ``cell`` and ``history`` messages.
DEFAULT_TOP_N = 20
#: Sites per list in a ``cell_detail`` answer.
DETAIL_TOP_N = 200
#: Raw stacks cached (a stack id is a key, generation << 32 | slot: it never names another stack, even once
#: its slot is reused; an id whose stack was reclaimed stays unknown).
STACK_CACHE = 20_000

StackFn = Callable[[int], Tuple[int, Sequence[Tuple[str, str, Any]]]]
#: Location used when the engine knows no Python frame (a native thread, the arena pseudo-site).
NO_FRAME = ("<native>", "<native>", None)
#: The engine's frame for the frames of a too deep stack that were left out (HEAPSCOPE_FRAME_GAP).
GAP = "<frames omitted>"
#: Pseudo-site of the heap alive from before the engine was installed (the kernel's start-up).
UNTRACKED = "<before profiling>"
#: Allocations made by the agent itself (its sampler thread, messages, caches) are left out of site lists.
AGENT_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def source_line(filename: str, line: Optional[int]) -> Optional[str]:
    """The text of ``line`` of a file as this process reads it (linecache: also a module's source from its
    loader, e.g. inside a zip), stripped; ``None`` for pseudo-files (``<...>``) and what cannot be read.
    Frames carry it so that the browser can show code the Lab server does not have (a remote kernel), and
    can tell whether the server's file of the same path is the code that ran (issue 15)."""
    if not line or not filename or filename.startswith("<"):
        return None
    try:
        text = linecache.getline(filename, line).strip()
    except Exception:  # a loader that fails, a file that vanished: no text, never an error
        return None
    return clip(text, "SourceLine") if text else None


def _line(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class SiteResolver:
    """Resolves stack ids to frames mapped onto cells, and aggregates rows into top-N site lists."""

    def __init__(self, stack: StackFn, cells: CellMap, root_files: Iterable[str] = ()):
        self._stack = stack
        self._cells = cells
        # Files whose outermost frame ends a stack, besides cells (the script of `heapscope run`).
        self._root_files = frozenset(root_files)
        self._cache: Dict[int, Tuple[int, Tuple[Tuple[str, str, Optional[int]], ...]]] = {}
        # Identical frames share one dict: records keep many sites whose stacks repeat the same frames.
        self._frames: Dict[tuple, dict] = {}
        self._lock = threading.Lock()

    # --- stacks ---------------------------------------------------------------------------------

    def raw_stack(self, stack_id: int) -> Tuple[int, Tuple[Tuple[str, str, Optional[int]], ...]]:
        with self._lock:
            hit = self._cache.get(stack_id)
        if hit is not None:
            return hit
        try:
            run_id, frames = self._stack(stack_id)
            # Names from the program: cut to the schema's caps, and safe for UTF-8 (a lone surrogate
            # in a file name must not make every message fail).
            clean = tuple((clip(f[0], "FileName"), clip(f[1], "FunctionName"), _line(f[2])) for f in frames)
            value = (int(run_id), clean)
        except Exception:
            value = (-1, ((f"<unknown stack {stack_id}>", "<unknown>", None),))
        with self._lock:
            if len(self._cache) >= STACK_CACHE:
                self._cache.clear()
            self._cache[stack_id] = value
        return value

    def frames(self, stack_id: int) -> List[dict]:
        """The stack's frames as protocol frame objects, innermost first, cut after the outermost cell frame."""
        run_id, raw = self.raw_stack(stack_id)
        out: List[dict] = []
        root = -1
        for i, (filename, function, line) in enumerate(raw):
            run = self._cells.resolve(filename, run_id) if run_id >= 0 else None
            key = (
                filename,
                line,
                function,
                run.cell_id if run else None,
                run.execution_count if run else None,
                run is not None,
            )
            frame = self._frames.get(key)
            if frame is None:
                if len(self._frames) >= STACK_CACHE * 4:
                    self._frames.clear()
                frame = self._frames[key] = {
                    "file": filename,
                    "line": line,
                    "function": function,
                    "cell_id": key[3],
                    "cell_line": line if run else None,
                    "execution_count": key[4],
                }
                if run is None:
                    text = source_line(filename, line)
                    if text:
                        frame["source"] = text
            out.append(frame)
            if run is not None or filename in self._root_files:
                root = i
        return out[: root + 1] if root >= 0 else out

    def site(self, stack_id: int, nbytes: int, count: int) -> dict:
        frames = self.frames(stack_id)
        leaf = frames[0] if frames else dict(zip(("file", "function", "line"), NO_FRAME))
        cell = next((f for f in frames if f["cell_line"] is not None), None)
        site = {
            "file": leaf["file"],
            "line": leaf["line"],
            "function": leaf["function"],
            "cell_id": cell["cell_id"] if cell else None,
            "cell_line": cell["cell_line"] if cell else None,
            "execution_count": cell["execution_count"] if cell else None,
            "bytes": int(nbytes),
            "count": int(count),
            "stack": frames,
        }
        if "source" in leaf:
            site["source"] = leaf["source"]
        # A too deep stack: the engine left frames out (its "<frames omitted>" marker), kept the cell frame.
        if any(f["file"] == GAP and f["function"] == GAP and f["line"] is None for f in frames):
            site["truncated"] = True
        return site

    # --- lists ----------------------------------------------------------------------------------

    def own_rows(
        self, rows: Iterable[Sequence[int]], run_id: int, limit: int, first_id: Optional[int] = None
    ) -> List[Tuple[int, int, int]]:
        """The ``limit`` largest rows allocated during ``run_id``, as ``(stack_id, bytes, count)``.

        ``rows`` are ``(stack_id, bytes, count)`` (the engine's ``at_peak``, which also holds what earlier
        cells kept alive at the peak: the stack's run_id tells them apart) or ``(stack_id, run_id, bytes,
        count)`` (``live()``). ``first_id``: the engine's slot count (``stack_nodes``) when the run_id
        began; new slots are handed out in order and a reused slot's id is >= 2**32 (its generation), so
        an id below ``first_id`` belongs to an earlier run_id and need not be looked at (in exact mode
        ``at_peak`` has a row for every stack alive); the others are checked by their run_id.
        """
        out: List[Tuple[int, int, int]] = []
        candidates = []
        for row in rows:
            if len(row) == 4:
                stack_id, row_run_id, nbytes, count = row
                if row_run_id == run_id and nbytes > 0:
                    out.append((int(stack_id), int(nbytes), int(count)))
            elif row[1] > 0 and (first_id is None or row[0] >= first_id):
                candidates.append((int(row[0]), int(row[1]), int(row[2])))
        candidates.sort(key=lambda r: (-r[1], -r[2]))
        for row in candidates:  # largest first: stop once enough rows of this run_id are found
            if len(out) >= limit:
                break
            if self.raw_stack(row[0])[0] == run_id:
                out.append(row)
        out.sort(key=lambda r: (-r[1], -r[2]))
        return out[:limit]

    def top_sites(self, rows: Iterable[Sequence[int]], limit: int = DEFAULT_TOP_N) -> List[dict]:
        """``rows`` of ``(stack_id, bytes, count)``: the ``limit`` largest sites, bytes descending.

        Rows whose stacks resolve to the same frames (e.g. the same code reached in two run_ids) are merged.
        """
        merged: Dict[int, List[int]] = {}
        for stack_id, nbytes, count in rows:
            slot = merged.setdefault(int(stack_id), [0, 0])
            slot[0] += int(nbytes)
            slot[1] += int(count)
        # Sampled estimates can net out at or below zero (default mode): such a stack holds nothing.
        ranked = sorted((kv for kv in merged.items() if kv[1][0] > 0), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        sites: Dict[str, dict] = {}
        # Resolve a few more than needed: merging can only make sites larger.
        for stack_id, (nbytes, count) in ranked[: max(0, limit) * 2]:
            site = self.site(stack_id, nbytes, count)
            if any(f["file"].startswith(AGENT_DIR) for f in site["stack"]):
                continue
            key = repr(site["stack"]) if site["stack"] else repr((site["file"], site["line"], site["function"]))
            if key in sites:
                sites[key]["bytes"] += site["bytes"]
                sites[key]["count"] += site["count"]
            else:
                sites[key] = site
        return sorted(sites.values(), key=lambda s: (-s["bytes"], -s["count"]))[: max(0, limit)]

    def retained_by_cell(
        self,
        live_rows: Iterable[Sequence[int]],
        limit: int = DEFAULT_TOP_N,
        max_cells: Optional[int] = None,
        current_bytes: Optional[int] = None,
    ) -> List[dict]:
        """``live_rows`` of ``(stack_id, run_id, bytes, count)`` (the heap alive now) grouped by the cell
        that allocated it: ``[{"cell_id", "execution_count", "seq", "bytes", "count", "sites"}]``, bytes
        descending. Runs of one cell id are one entry (``seq``/``execution_count`` of its latest run);
        runs without a cell id are one entry each; memory allocated outside any cell (kernel start-up,
        between cells) is the entry with ``seq`` null.

        ``current_bytes`` (the shim's heap total now): the engine tracks only what was allocated after it
        was installed, so the heap alive from before (the kernel's start-up) is added to the ``seq`` null
        entry as the pseudo-site :data:`UNTRACKED`, and all the entries add up to ``current_bytes``.
        """
        groups: Dict[Any, dict] = {}
        for stack_id, run_id, nbytes, count in live_rows:
            if nbytes <= 0:
                continue
            run = self._cells.origin_of_run(int(run_id))
            if run is None:
                key: Any = ("outside",)
            elif run.cell_id is not None:
                key = ("cell", run.cell_id)
            else:
                key = ("run", run.seq, run.run_id)
            group = groups.get(key)
            if group is None:
                group = groups[key] = {"run": run, "bytes": 0, "count": 0, "rows": []}
            elif run is not None and (group["run"] is None or run.run_id > group["run"].run_id):
                group["run"] = run
            group["bytes"] += int(nbytes)
            group["count"] += int(count)
            group["rows"].append((stack_id, nbytes, count))
        untracked = 0
        if current_bytes is not None:
            untracked = int(current_bytes) - sum(g["bytes"] for g in groups.values())
            if untracked > 0:
                group = groups.setdefault(("outside",), {"run": None, "bytes": 0, "count": 0, "rows": []})
                group["bytes"] += untracked
        ordered = sorted(groups.values(), key=lambda g: -g["bytes"])
        if max_cells is not None:
            ordered = ordered[:max_cells]
        out = []
        for group in ordered:
            run = group["run"]
            sites = self.top_sites(group["rows"], limit)
            if run is None and untracked > 0:
                sites.append(_pseudo_site(UNTRACKED, untracked))
                sites.sort(key=lambda s: (-s["bytes"], -s["count"]))
                del sites[max(0, limit) :]
            out.append(
                {
                    "cell_id": run.cell_id if run else None,
                    "execution_count": run.execution_count if run else None,
                    "seq": run.seq if run else None,
                    "bytes": group["bytes"],
                    "count": group["count"],
                    "sites": sites,
                }
            )
        return out


def _pseudo_site(name: str, nbytes: int) -> dict:
    """A site with no Python frame (``docs/protocol.md``, "Sites")."""
    return {
        "file": name,
        "line": None,
        "function": name,
        "cell_id": None,
        "cell_line": None,
        "execution_count": None,
        "bytes": int(nbytes),
        "count": 0,
        "stack": [],
    }
