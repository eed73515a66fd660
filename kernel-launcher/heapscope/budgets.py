"""Per-cell memory budgets: the rules, as pure functions (no kernel, no files).

A budget limits two figures of a cell's run (docs/ci.md):

- ``max_peak``: the **peak added** during the run, ``peak_bytes - start_bytes`` (what the badge shows as
  "peak +X");
- ``max_retained``: the heap the cell **still holds at the end of the whole run** of the notebook: its entry
  in the report's ``retained_by_cell`` (memory alive at the end, by the cell that allocated it; runs of one
  cell merged). A cell missing from a ``retained_by_cell`` list holds less than the list's smallest entry
  (the agent lists the largest 100) and counts as 0. Without line-level attribution (``retained_by_cell``
  null) the cell's net growth ``max(0, end_bytes - start_bytes)`` stands in for it.

Where budgets come from: the cell's metadata ``{"heapscope": {"max_peak": "2 GB", "max_retained": "500 MB"}}``
(a size as the badges write it, :func:`heapscope.bytes_format.parse_bytes`, or a number of bytes) and the
command line (``heapscope report --max-peak SIZE --max-retained SIZE``, pytest's ``--heapscope-max-peak``),
which applies to every cell. **The cell's metadata wins**, key by key: a key the cell sets replaces the
command line's; ``null`` removes that budget for the cell; a key the cell does not set keeps the command
line's.

A run breaks a budget when its figure is strictly greater than the limit. The report carries, per notebook
cell that has a budget, ``budget`` ``{"max_peak", "max_retained"}`` (bytes, or null) and ``over_budget`` (the
names of the budgets it broke, in that order). The extension applies the same rules to the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .bytes_format import MAX_PARSED, format_bytes, format_signed_bytes, parse_bytes

#: The cell metadata key.
METADATA_KEY = "heapscope"
#: Budget names, in the order they are checked and listed.
BUDGET_NAMES = ("max_peak", "max_retained")
#: Longest first code line shown in a message, in characters (``…`` added when cut).
LABEL_LENGTH = 40

Budget = Dict[str, Optional[int]]


class BudgetError(ValueError):
    """A budget that cannot be read (one line, meant for the user)."""


def parse_limit(value: Any, where: str) -> Optional[int]:
    """A limit as written in metadata or on a command line: a size text, a number of bytes, or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BudgetError(f'{where}: {value!r} is not a size (write e.g. "500 MB")')
    if isinstance(value, int):
        if not 0 <= value <= MAX_PARSED:
            raise BudgetError(f"{where}: {value} is not a size in bytes (0 to 2^53 - 1)")
        return value
    if isinstance(value, float):
        if not (value >= 0 and value <= MAX_PARSED and value == int(value)):
            raise BudgetError(f"{where}: {value!r} is not a whole number of bytes")
        return int(value)
    if isinstance(value, str):
        try:
            return parse_bytes(value)
        except ValueError as exc:
            raise BudgetError(f"{where}: {exc}") from None
    raise BudgetError(f'{where}: a {type(value).__name__} is not a size (write e.g. "500 MB")')


def budget_from_metadata(metadata: Any, where: str = "cell") -> Budget:
    """The budget a cell's metadata sets (only the keys it sets; ``{}`` when it sets none).

    Raises :class:`BudgetError` when ``metadata["heapscope"]`` is not an object or a limit is no size.
    Other keys of ``metadata["heapscope"]`` are left alone (they may be the extension's)."""
    if not isinstance(metadata, Mapping) or METADATA_KEY not in metadata:
        return {}
    section = metadata[METADATA_KEY]
    if not isinstance(section, Mapping):
        raise BudgetError(
            f'{where}: metadata "{METADATA_KEY}" must be an object such as {{"max_peak": "2 GB"}}, '
            f"not {type(section).__name__}"
        )
    return {
        name: parse_limit(section[name], f"{where} metadata {METADATA_KEY}.{name}")
        for name in BUDGET_NAMES
        if name in section
    }


def resolve(cell_budget: Mapping[str, Optional[int]], defaults: Mapping[str, Optional[int]]) -> Budget:
    """The budget in force for a cell: the defaults (command line), replaced key by key by the cell's."""
    return {name: cell_budget[name] if name in cell_budget else defaults.get(name) for name in BUDGET_NAMES}


def has_limits(budget: Mapping[str, Optional[int]]) -> bool:
    return any(budget.get(name) is not None for name in BUDGET_NAMES)


def notebook_budgets(cells: Sequence[Any], defaults: Mapping[str, Optional[int]], where: str = "") -> Dict[int, Budget]:
    """The budget of every code cell of a notebook (nbformat cells, or dicts) by 0-based index, for the cells
    that have one. Raises :class:`BudgetError` for the first cell whose metadata is wrong."""
    out: Dict[int, Budget] = {}
    prefix = f"{where}: " if where else ""
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        budget = resolve(budget_from_metadata(cell.get("metadata"), f"{prefix}cell [{index}]"), defaults)
        if has_limits(budget):
            out[index] = budget
    return out


# --- the figures ----------------------------------------------------------------------------------


def peak_added(cell: Mapping[str, Any]) -> int:
    """Peak added during the run: ``peak_bytes - start_bytes``."""
    return int(cell["peak_bytes"]) - int(cell["start_bytes"])


def net_bytes(cell: Mapping[str, Any]) -> int:
    """What the run left: ``end_bytes - start_bytes``."""
    return int(cell["end_bytes"]) - int(cell["start_bytes"])


def retained_bytes(cell: Mapping[str, Any], retained_by_cell: Optional[Sequence[Mapping[str, Any]]]) -> int:
    """Heap the cell still holds at the end of the run (see the module's description)."""
    if retained_by_cell is None:
        return max(0, net_bytes(cell))
    cell_id = cell.get("cell_id")
    count = cell.get("execution_count")
    for entry in retained_by_cell:
        if entry.get("seq") is None:  # memory allocated outside any cell
            continue
        if cell_id is not None and entry.get("cell_id") == cell_id:
            return int(entry["bytes"])
        if entry.get("cell_id") is None and count is not None and entry.get("execution_count") == count:
            return int(entry["bytes"])
    return 0


def over_budget(
    cell: Mapping[str, Any],
    budget: Mapping[str, Optional[int]],
    retained_by_cell: Optional[Sequence[Mapping[str, Any]]],
) -> List[str]:
    """The names of the budgets this run broke, in :data:`BUDGET_NAMES` order."""
    broken = []
    limit = budget.get("max_peak")
    if limit is not None and peak_added(cell) > limit:
        broken.append("max_peak")
    limit = budget.get("max_retained")
    if limit is not None and retained_bytes(cell, retained_by_cell) > limit:
        broken.append("max_retained")
    return broken


# --- the messages ---------------------------------------------------------------------------------


def first_code_line(source: str, limit: int = LABEL_LENGTH) -> str:
    """The cell's first line that is code (not blank, not a comment), clipped to ``limit`` characters."""
    line = next((s.strip() for s in source.splitlines() if s.strip() and not s.strip().startswith("#")), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Violation:
    """One broken budget of one cell's run."""

    index: Optional[int]
    source: str
    name: str
    value: int
    limit: int

    def line(self) -> str:
        """``cell [7] df = pd.read_csv(…): peak +2.4 GB > budget 2 GB`` (index: 0-based position in the
        notebook, as in ``heapscope report``'s progress lines)."""
        where = "cell" if self.index is None else f"cell [{self.index}]"
        label = first_code_line(self.source)
        if label:
            where += f" {label}"
        if self.name == "max_peak":
            figure = f"peak {format_signed_bytes(self.value)}"
        else:
            figure = f"retained {format_bytes(self.value)}"
        return f"{where}: {figure} > budget {format_bytes(self.limit)}"


def apply_budgets(report: Dict[str, Any], budgets: Mapping[int, Mapping[str, Optional[int]]]) -> List[Violation]:
    """Write ``budget`` and ``over_budget`` into the report's cells (those whose ``index`` has a budget) and
    return every broken budget, in the order of the cells."""
    retained_by_cell = report.get("retained_by_cell")
    found: List[Violation] = []
    for cell in report.get("cells", []):
        index = cell.get("index")
        if index is None or index not in budgets:
            continue
        budget = {name: budgets[index].get(name) for name in BUDGET_NAMES}
        broken = over_budget(cell, budget, retained_by_cell)
        cell["budget"] = budget
        cell["over_budget"] = broken
        for name in broken:
            value = peak_added(cell) if name == "max_peak" else retained_bytes(cell, retained_by_cell)
            limit = budget[name]
            assert limit is not None
            found.append(Violation(index, str(cell.get("source", "")), name, value, limit))
    return found
