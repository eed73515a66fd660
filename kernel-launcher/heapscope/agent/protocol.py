"""Protocol v2 between the in-kernel agent and the browser: a thin layer over ``protocol/*.schema.json``.

The schemas are the contract (``docs/protocol.md`` is the prose around them). Their validators are
compiled ahead of time into :mod:`._protocol_validators` by ``protocol/generate_py.py``, so the kernel
needs no validation library. Builders return plain JSON-able dicts; the ``validate*`` functions return a
one-line description of the first problem, or ``None``. Nothing here raises for bad input: a profiler
must never raise into the kernel. :func:`clip` cuts kernel text to the schema's limit.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Mapping, Optional

from . import _protocol_validators as _v

PROTOCOL_VERSION: int = _v.PROTOCOL_VERSION
COMM_TARGET = "heapscope"

#: Message types the browser may send, and the ones the kernel sends. ``cell_detail`` and
#: ``retained_by_cell`` are requests one way and answers the other.
BROWSER_TYPES = frozenset(_v.BROWSER_TYPES)
KERNEL_TYPES = frozenset(_v.KERNEL_TYPES)

CELL_STATUSES = ("ok", "error", "interrupted", "aborted", "guard", "killed")
MODES = ("default", "exact")
MODE_APPLIES = ("next_cell", "restart")
#: Upper bound of a request's ``limit`` (sites per list) and of ``top_n``.
MAX_LIMIT = 1000

#: ``maxLength`` of each string type of ``protocol/defs.schema.json`` (``File``, ``Function``, ``CellId``,
#: ``Source``, ``Reason``, ``Message``, ``ShortText``, ...), and the marker ending a string cut to it.
LIMITS: Mapping[str, int] = dict(_v.LIMITS)
TRUNCATION_MARKER: str = _v.TRUNCATION_MARKER
#: An error message quotes at most this much of the input it refuses.
_QUOTE = 200


def clip(value: Any, kind: str) -> Any:
    """``value`` made fit for a string of type ``kind`` (a name of :data:`LIMITS`): lone surrogates (a
    file named ``'\\ud800.py'``, which cannot be encoded as UTF-8) become U+FFFD, and text longer than
    the schema's ``maxLength`` is cut and ends with :data:`TRUNCATION_MARKER`. ``None`` stays ``None``;
    anything else is turned into text first."""
    if value is None:
        return None
    limit = LIMITS[kind]
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():  # a surrogate pair becomes its character, a lone surrogate U+FFFD
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if len(text) > limit:
        text = text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER
    return text


def _message(kind: str, **fields: Any) -> dict:
    return {"protocol": PROTOCOL_VERSION, "type": kind, **fields}


def status_message(status: Mapping[str, Any]) -> dict:
    return _message("status", status=dict(status))


def cell_start_message(cell: Mapping[str, Any]) -> dict:
    return _message("cell_start", cell=dict(cell))


def cell_message(record: Mapping[str, Any]) -> dict:
    return _message("cell", cell=dict(record))


def history_message(
    status: Mapping[str, Any],
    cells: list,
    running: Optional[Mapping[str, Any]],
    retained_by_cell: Optional[list] = None,
) -> dict:
    return _message(
        "history",
        status=dict(status),
        cells=[dict(c) for c in cells],
        running=None if running is None else dict(running),
        retained_by_cell=retained_by_cell,
    )


def error_message(text: str) -> dict:
    return _message("error", message=clip(str(text), "Message"))


def ticks_message(seq: Optional[int], ticks: list, rss: Optional[list] = None) -> dict:
    """The ticker's readings ``[(unix time, current bytes), ...]`` of the running cell ``seq``, and RSS
    readings ``[(unix time, rss bytes), ...]`` when given. A reading whose time is not finite is left out:
    JSON has no NaN, and the generated (fastjsonschema) checks compare numbers with ``<``/``>``, which NaN
    passes."""

    def finite(readings: list) -> list:
        return [[float(t), int(b)] for t, b in readings if math.isfinite(t)]

    fields: Dict[str, Any] = {"seq": seq, "ticks": finite(ticks)}
    if rss is not None:
        fields["rss"] = finite(rss)
    return _message("ticks", **fields)


#: Protocol 1's name of :func:`ticks_message` (it builds a ``ticks`` message): kept only until every caller
#: says ``ticks_message``; remove it then.
samples_message = ticks_message


def cell_detail_message(seq: int, cell: Optional[Mapping[str, Any]]) -> dict:
    return _message("cell_detail", seq=seq, cell=None if cell is None else dict(cell))


def retained_message(retained: Optional[list]) -> dict:
    return _message("retained_by_cell", retained_by_cell=retained)


# --- validation -------------------------------------------------------------------------------


def _run(check: Callable, value: Any, where: str) -> Optional[str]:
    """``check`` (a generated validator) on ``value``: ``None``, or its first problem as one short line."""
    try:
        check(value, name_prefix=where)
    except _v.JsonSchemaValueException as exc:
        return _short(exc.message)
    except RecursionError:
        return f"{where} is nested too deeply"
    except Exception as exc:  # a validator must never raise
        return _short(f"could not validate {where}: {exc!r}")
    return None


def _short(text: str) -> str:
    return text if len(text) <= 2 * _QUOTE else text[: 2 * _QUOTE] + TRUNCATION_MARKER


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTE else text[:_QUOTE] + TRUNCATION_MARKER


def _peak_problem(cell: Any, where: str) -> Optional[str]:
    """The one CellRun rule JSON Schema cannot say (defs.schema.json, CellRun)."""
    if isinstance(cell, dict) and cell["peak_bytes"] < max(cell["start_bytes"], cell["end_bytes"]):
        return f"{where}.peak_bytes is below start_bytes or end_bytes"
    return None


def validate_status(status: Any, where: str = "status") -> Optional[str]:
    return _run(_v.validate_status, status, where)


def validate_site(site: Any, where: str = "site") -> Optional[str]:
    return _run(_v.validate_site, site, where)


def validate_sites(sites: Any, where: str) -> Optional[str]:
    return _run(_v.validate_sites, sites, where)


def validate_retained(retained: Any, where: str = "retained_by_cell") -> Optional[str]:
    """``null`` (attribution unavailable) or a list of ``{"cell_id", "bytes", "sites", ...}``."""
    return _run(_v.validate_retained_by_cell, retained, where)


def validate_cell_record(cell: Any, where: str = "cell") -> Optional[str]:
    return _run(_v.validate_cell_run, cell, where) or _peak_problem(cell, where)


def _cells_of(msg: dict):
    """``(where, CellRun)`` of a valid kernel message, for the rule the schema cannot say."""
    kind = msg["type"]
    if kind in ("cell", "cell_detail") and msg.get("cell") is not None:
        yield "cell", msg["cell"]
    elif kind == "history":
        for i, cell in enumerate(msg["cells"]):
            yield f"cells[{i}]", cell


def validate(msg: Any, allowed_types: frozenset = KERNEL_TYPES, incoming: bool = False) -> Optional[str]:
    """Return ``None`` when ``msg`` is a valid protocol message of an allowed type, else why not.

    ``incoming``: validate it as a browser → kernel message (request), else as kernel → browser."""
    try:
        if not isinstance(msg, dict):
            return f"a message must be a JSON object, not {type(msg).__name__}"
        version = msg.get("protocol")
        if isinstance(version, bool) or not isinstance(version, (int, float)) or version != PROTOCOL_VERSION:
            return f"unsupported protocol {_quote(version)} (this kernel speaks {PROTOCOL_VERSION})"
        kind = msg.get("type")
        if not isinstance(kind, str):
            return "'type' must be a string"
        if kind not in allowed_types:
            return f"unknown message type {_quote(kind)}"
        # The type's own schema: what the side's schema checks for that type, without trying the others.
        if incoming:
            return _run(_v.BROWSER_VALIDATORS[kind], msg, kind)
        problem = _run(_v.KERNEL_VALIDATORS[kind], msg, kind)
        if problem is None:
            for where, cell in _cells_of(msg):
                problem = _peak_problem(cell, where)
                if problem:
                    break
        return problem
    except Exception as exc:  # a validator must never raise
        return _short(f"could not validate message: {exc!r}")


def validate_incoming(msg: Any) -> Optional[str]:
    """Validate a browser → kernel message. A valid message's integers are made ``int`` in place (JSON
    cannot tell ``5.0`` from ``5``, so the schema accepts both; the agent slices with them)."""
    problem = validate(msg, BROWSER_TYPES, incoming=True)
    if problem is None:
        for key in ("seq", "limit", "top_n"):
            if isinstance(msg.get(key), float):
                msg[key] = int(msg[key])
    return problem


def validate_outgoing(msg: Any) -> Optional[str]:
    """Validate a kernel → browser message."""
    return validate(msg, KERNEL_TYPES, incoming=False)


def validate_report(report: Any) -> Optional[str]:
    """Validate a report (``protocol/report.schema.json``), its runs' peak rule included."""
    problem = _run(_v.validate_report, report, "report")
    if problem is None:
        for i, cell in enumerate(report["cells"]):
            problem = _peak_problem(cell, f"report.cells[{i}]")
            if problem:
                break
    return problem
