"""Two reports compared cell by cell: ``heapscope diff BEFORE.json AFTER.json`` (pure functions; the command
is :mod:`heapscope.cli.diff`, the output's schema ``protocol/diff.schema.json``).

**Cells.** A report's cells are its notebook cells' runs (``index`` not null; a script's report: its one
run); a cell run more than once (an export from JupyterLab) counts with its last run. Cells of BEFORE are
matched with cells of AFTER in three passes, each over the cells still unmatched:

1. by **id** (the notebook cell id): ``same`` when the source and the position are the same, ``moved``
   when only the position changed, ``edited`` when the source changed;
2. by **source** (the same text, stripped): ``same`` or ``moved`` (a notebook whose ids were rewritten);
3. by **position** (the same index): ``edited``;

and the rest are ``deleted`` (only in BEFORE) or ``added`` (only in AFTER).

**Figures**, per side (``before``, ``after``): ``peak_bytes``, the peak added during the cell
(``peak_bytes - start_bytes`` of the run); ``end_bytes``, its net (``end_bytes - start_bytes``);
``retained_bytes`` (:func:`heapscope.budgets.retained_bytes`). ``delta_*`` is after − before,
``peak_change_percent`` the peak's change in % of before's (null when before's peak is 0 or a side is
missing).

**Sites.** The lines whose bytes changed most: both runs' ``top_at_peak`` (the sites holding the run's
memory at its peak) summed by key -- ``cell line N`` when the allocating stack passes through the cell's
own line N, else ``file:line:function`` -- and compared; the :data:`SITES_PER_CELL` largest changes.

**Failing.** ``--fail-over P``: a matched cell (not added, not deleted) whose peak grew by more than P % and
by more than ``--fail-min`` (default 1 MB, so that a cell going from 10 kB to 20 kB fails nothing) fails.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .budgets import first_code_line, net_bytes, peak_added, retained_bytes
from .bytes_format import format_bytes, format_signed_bytes

DIFF_VERSION = 1
MATCHES = ("same", "moved", "edited", "added", "deleted")
#: Sites listed per cell.
SITES_PER_CELL = 10
#: Default of ``--fail-min``: growth smaller than this never fails.
DEFAULT_FAIL_MIN = 1_000_000


# --- cells ----------------------------------------------------------------------------------------


def report_cells(report: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The report's cells, one per notebook cell (its last run), in notebook order."""
    runs = [c for c in report.get("cells", []) if c.get("index") is not None]
    if not runs and (report.get("target") or {}).get("kind") == "script":
        runs = [{**c, "index": i} for i, c in enumerate(report.get("cells", []))]
    last: Dict[Any, Dict[str, Any]] = {}
    for run in runs:
        key = run.get("cell_id") or ("index", run["index"])
        last[key] = run
    return sorted(last.values(), key=lambda c: (c["index"], c.get("seq") or 0))


def _same_source(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return str(a.get("source", "")).strip() == str(b.get("source", "")).strip()


def match_cells(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> List[Tuple[str, Optional[int], Optional[int]]]:
    """``(match, i, j)`` for every cell: i indexes ``before``, j ``after`` (None on the missing side).
    Listed in AFTER's order, each deleted cell right after the cell that preceded it in BEFORE."""
    pairs: Dict[int, Tuple[str, int]] = {}  # before i -> (match, after j)
    taken: set = set()

    def pair(i: int, j: int, match: str) -> None:
        pairs[i] = (match, j)
        taken.add(j)

    by_id = {c.get("cell_id"): j for j, c in enumerate(after) if c.get("cell_id")}
    for i, cell in enumerate(before):
        j = by_id.get(cell.get("cell_id")) if cell.get("cell_id") else None
        if j is not None and j not in taken:
            if not _same_source(cell, after[j]):
                pair(i, j, "edited")
            else:
                pair(i, j, "same" if cell.get("index") == after[j].get("index") else "moved")
    for i, cell in enumerate(before):
        if i in pairs:
            continue
        for j, other in enumerate(after):
            if j not in taken and _same_source(cell, other):
                pair(i, j, "same" if cell.get("index") == other.get("index") else "moved")
                break
    for i, cell in enumerate(before):
        if i in pairs:
            continue
        for j, other in enumerate(after):
            if j not in taken and cell.get("index") == other.get("index"):
                pair(i, j, "edited")
                break
    of_after = {j: (match, i) for i, (match, j) in pairs.items()}
    out: List[Tuple[str, Optional[int], Optional[int]]] = []
    deleted = [i for i in range(len(before)) if i not in pairs]
    for j in range(len(after)):
        if j in of_after:
            match, i = of_after[j]
            out.append((match, i, j))
        else:
            out.append(("added", None, j))
    # each deleted cell goes after the row of the BEFORE cell that preceded it (or first)
    for i in deleted:
        at = 0
        for k in range(i - 1, -1, -1):
            rows = [n for n, row in enumerate(out) if row[1] == k]
            if rows:
                at = rows[0] + 1
                break
        while at < len(out) and out[at][0] == "deleted":
            at += 1
        out.insert(at, ("deleted", i, None))
    return out


# --- figures and sites ----------------------------------------------------------------------------


def side(cell: Mapping[str, Any], retained_by_cell: Optional[Sequence[Mapping[str, Any]]]) -> Dict[str, Any]:
    """One side of a row: where the cell is and its three figures."""
    return {
        "cell_id": cell.get("cell_id"),
        "index": cell.get("index"),
        "execution_count": cell.get("execution_count"),
        "label": first_code_line(str(cell.get("source", "")), 80),
        "peak_bytes": peak_added(cell),
        "end_bytes": net_bytes(cell),
        "retained_bytes": retained_bytes(cell, retained_by_cell),
    }


def site_key(site: Mapping[str, Any], cell_id: Optional[str]) -> Tuple[str, Optional[int]]:
    """``("cell line N", N)`` when the site's stack passes through this cell's line N, else
    ``("file:line:function", None)``."""
    if site.get("cell_line") is not None and (cell_id is None or site.get("cell_id") in (cell_id, None)):
        return f"cell line {site['cell_line']}", int(site["cell_line"])
    return f"{site.get('file')}:{site.get('line')}:{site.get('function')}", None


def _site_bytes(cell: Optional[Mapping[str, Any]]) -> Dict[str, Tuple[int, Optional[int]]]:
    out: Dict[str, Tuple[int, Optional[int]]] = {}
    if cell is None:
        return out
    for site in cell.get("top_at_peak") or []:
        key, line = site_key(site, cell.get("cell_id"))
        held, _ = out.get(key, (0, line))
        out[key] = (held + int(site.get("bytes", 0)), line)
    return out


def _line_text(cell: Optional[Mapping[str, Any]], line: Optional[int]) -> Optional[str]:
    if cell is None or line is None:
        return None
    lines = str(cell.get("source", "")).splitlines()
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1].strip()
    return text if len(text) <= 80 else text[:79] + "…"


def site_changes(
    before: Optional[Mapping[str, Any]], after: Optional[Mapping[str, Any]], limit: int = SITES_PER_CELL
) -> List[Dict[str, Any]]:
    """The sites whose bytes at the peak changed most, largest change first (unchanged ones left out)."""
    old, new = _site_bytes(before), _site_bytes(after)
    rows: List[Dict[str, Any]] = []
    for key in set(old) | set(new):
        a, line = old.get(key, (0, None))
        b, line_after = new.get(key, (0, None))
        line = line if line is not None else line_after
        if a == b:
            continue
        text = _line_text(after, line) if key in new else _line_text(before, line)
        rows.append(
            {
                "key": key,
                "cell_line": line,
                "text": text,
                "before_bytes": a,
                "after_bytes": b,
                "delta_bytes": b - a,
            }
        )
    rows.sort(key=lambda r: (-abs(r["delta_bytes"]), r["key"]))
    return rows[:limit]


def percent(before: int, after: int) -> Optional[float]:
    """The change from ``before`` to ``after`` in % of ``before`` (None when ``before`` is not positive)."""
    if before <= 0:
        return None
    return round((after - before) * 100.0 / before, 2)


def diff_reports(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    fail_over: Optional[float] = None,
    fail_min: int = DEFAULT_FAIL_MIN,
    before_path: Optional[str] = None,
    after_path: Optional[str] = None,
) -> Dict[str, Any]:
    """The diff document (``protocol/diff.schema.json``)."""
    old, new = report_cells(before), report_cells(after)
    old_retained, new_retained = before.get("retained_by_cell"), after.get("retained_by_cell")
    rows = []
    for match, i, j in match_cells(old, new):
        a = side(old[i], old_retained) if i is not None else None
        b = side(new[j], new_retained) if j is not None else None
        both = a is not None and b is not None
        row: Dict[str, Any] = {
            "before_cell_id": a["cell_id"] if a else None,
            "after_cell_id": b["cell_id"] if b else None,
            "match": match,
            "before": a,
            "after": b,
            "delta_peak_bytes": b["peak_bytes"] - a["peak_bytes"] if a and b else None,
            "delta_end_bytes": b["end_bytes"] - a["end_bytes"] if a and b else None,
            "delta_retained_bytes": b["retained_bytes"] - a["retained_bytes"] if a and b else None,
            "peak_change_percent": percent(a["peak_bytes"], b["peak_bytes"]) if a and b else None,
            "sites": site_changes(old[i] if i is not None else None, new[j] if j is not None else None),
        }
        row["failed"] = bool(
            both
            and fail_over is not None
            and row["delta_peak_bytes"] > fail_min
            # exact, not the rounded percentage; growth from nothing (no percentage) counts as over
            and (
                row["before"]["peak_bytes"] <= 0
                or row["delta_peak_bytes"] * 100 > fail_over * row["before"]["peak_bytes"]
            )
        )
        rows.append(row)
    return {
        "heapscope_diff": DIFF_VERSION,
        "before": _about(before, before_path),
        "after": _about(after, after_path),
        "fail_over_percent": fail_over,
        "fail_min_bytes": fail_min,
        "cells": rows,
    }


def _about(report: Mapping[str, Any], path: Optional[str]) -> Dict[str, Any]:
    target = report.get("target") or {}
    return {"path": path, "target": target.get("path"), "created_at": report.get("created_at")}


# --- text -----------------------------------------------------------------------------------------


def _pct(value: Optional[float]) -> str:
    return "" if value is None else f" ({value:+.1f} %)"


def row_label(row: Mapping[str, Any]) -> str:
    cell = row["after"] or row["before"]
    where = f"cell [{cell['index']}]"
    if row["match"] == "moved":
        where = f"cell [{row['before']['index']}→{row['after']['index']}]"
    return f"{where} {cell['label']}".rstrip()


def row_lines(row: Mapping[str, Any]) -> List[str]:
    """The lines ``heapscope diff`` prints for a row."""
    a, b = row["before"], row["after"]
    head = f"{row_label(row)} [{row['match']}]"
    if a is None:
        return [f"{head}: peak {format_signed_bytes(b['peak_bytes'])}, retained {format_bytes(b['retained_bytes'])}"]
    if b is None:
        return [f"{head}: was peak {format_signed_bytes(a['peak_bytes'])}"]
    lines = [
        f"{head}: peak {format_signed_bytes(a['peak_bytes'])} → {format_signed_bytes(b['peak_bytes'])} "
        f"(Δ {format_signed_bytes(row['delta_peak_bytes'])}{_pct(row['peak_change_percent'])}), "
        f"net {format_signed_bytes(a['end_bytes'])} → {format_signed_bytes(b['end_bytes'])}, "
        f"retained {format_bytes(a['retained_bytes'])} → {format_bytes(b['retained_bytes'])}"
        + ("  FAILED" if row.get("failed") else "")
    ]
    for site in row["sites"][:3]:
        text = f" {site['text']}" if site.get("text") else ""
        lines.append(
            f"    {site['key']}{text}: {format_bytes(site['before_bytes'])} → {format_bytes(site['after_bytes'])} "
            f"(Δ {format_signed_bytes(site['delta_bytes'])})"
        )
    return lines
