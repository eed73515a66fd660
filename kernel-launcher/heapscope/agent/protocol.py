"""Protocol v1 between the in-kernel agent and the browser (``docs/protocol.md``).

Builders return plain JSON-able dicts; :func:`validate` checks any message against the document and
returns a description of the first problem (or ``None``). Nothing here raises for bad input: a
profiler must never raise into the kernel.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

PROTOCOL_VERSION = 1
COMM_TARGET = "heapscope"

#: Message types the browser may send, and the ones the kernel sends. ``cell_detail`` and
#: ``retained_by_cell`` are requests one way and answers the other.
BROWSER_TYPES = frozenset({"sync", "clear", "configure", "cell_detail", "retained_by_cell"})
KERNEL_TYPES = frozenset({"status", "cell_start", "cell", "history", "error", "samples", "cell_detail",
                          "retained_by_cell"})

CELL_STATUSES = ("ok", "error", "aborted")
MODES = ("default", "exact")
MODE_APPLIES = ("next_cell", "restart")
#: Upper bound of a request's ``limit`` (sites per list) and of ``top_n``.
MAX_LIMIT = 1000

_BYTES_OPTIONAL = ("allocated_bytes", "freed_bytes", "alloc_count", "free_count")


def _message(kind: str, **fields: Any) -> dict:
    return {"protocol": PROTOCOL_VERSION, "type": kind, **fields}


def status_message(status: Mapping[str, Any]) -> dict:
    return _message("status", status=dict(status))


def cell_start_message(cell: Mapping[str, Any]) -> dict:
    return _message("cell_start", cell=dict(cell))


def cell_message(record: Mapping[str, Any]) -> dict:
    return _message("cell", cell=dict(record))


def history_message(status: Mapping[str, Any], cells: list, running: Optional[Mapping[str, Any]],
                    retained_by_cell: Optional[list] = None) -> dict:
    return _message(
        "history",
        status=dict(status),
        cells=[dict(c) for c in cells],
        running=None if running is None else dict(running),
        retained_by_cell=retained_by_cell,
    )


def error_message(text: str) -> dict:
    return _message("error", message=str(text))


def samples_message(seq: Optional[int], samples: list) -> dict:
    return _message("samples", seq=seq, samples=[[float(t), int(b)] for t, b in samples])


def cell_detail_message(seq: int, cell: Optional[Mapping[str, Any]]) -> dict:
    return _message("cell_detail", seq=seq, cell=None if cell is None else dict(cell))


def retained_message(retained: Optional[list]) -> dict:
    return _message("retained_by_cell", retained_by_cell=retained)


# --- validation -------------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_bytes(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _optional_int(value: Any) -> bool:
    return value is None or _is_int(value)


def _check_fields(obj: Any, where: str, checks: Mapping[str, tuple]) -> Optional[str]:
    """``checks`` maps a required key to ``(predicate, description)``."""
    if not isinstance(obj, dict):
        return f"{where} must be an object"
    for key, (predicate, description) in checks.items():
        if key not in obj:
            return f"{where} lacks '{key}'"
        if not predicate(obj[key]):
            return f"{where}.{key} must be {description}"
    return None


_STATUS_FIELDS = {
    "active": (lambda v: isinstance(v, bool), "a boolean"),
    "reason": (_optional_str, "a string or null"),
    "shim_version": (_optional_str, "a string or null"),
    "mode": (lambda v: v in MODES, f"one of {MODES}"),
    "pid": (_is_int, "an integer"),
    "python": (lambda v: isinstance(v, str), "a string"),
    "current_bytes": (_is_bytes, "a non-negative integer"),
    "profiler_bytes": (_is_bytes, "a non-negative integer"),
}

_CELL_START_FIELDS = {
    "cell_id": (_optional_str, "a string or null"),
    "execution_count": (_optional_int, "an integer or null"),
    "start_bytes": (_is_bytes, "a non-negative integer"),
    "started_at": (_is_number, "a number"),
}

_CELL_FIELDS = {
    "cell_id": (_optional_str, "a string or null"),
    "execution_count": (_optional_int, "an integer or null"),
    "source": (lambda v: isinstance(v, str), "a string"),
    "start_bytes": (_is_bytes, "a non-negative integer"),
    "peak_bytes": (_is_bytes, "a non-negative integer"),
    "end_bytes": (_is_bytes, "a non-negative integer"),
    "status": (lambda v: v in CELL_STATUSES, f"one of {CELL_STATUSES}"),
    "started_at": (_is_number, "a number"),
    "ended_at": (_is_number, "a number"),
}


#: Optional status fields (added by the engine, issue 3): key -> (predicate, description).
_STATUS_OPTIONAL = {
    "degraded": (lambda v: isinstance(v, bool), "a boolean"),
    "attribution": (lambda v: isinstance(v, bool), "a boolean"),
    "attribution_reason": (_optional_str, "a string or null"),
    "pending_mode": (lambda v: v is None or v in MODES, f"null or one of {MODES}"),
    "pending_mode_applies": (lambda v: v is None or v in MODE_APPLIES, f"null or one of {MODE_APPLIES}"),
    "top_n": (lambda v: _is_int(v) and 1 <= v <= MAX_LIMIT, f"an integer in 1..{MAX_LIMIT}"),
    "live_hz": (lambda v: _is_number(v) and v >= 0, "a non-negative number"),
    "tracked_blocks": (_is_bytes, "a non-negative integer"),
}


def _check_optional(obj: dict, where: str, checks: Mapping[str, tuple]) -> Optional[str]:
    for key, (predicate, description) in checks.items():
        if key in obj and not predicate(obj[key]):
            return f"{where}.{key} must be {description}"
    return None


def validate_status(status: Any, where: str = "status") -> Optional[str]:
    problem = _check_fields(status, where, _STATUS_FIELDS) or _check_optional(status, where, _STATUS_OPTIONAL)
    if problem is None and not status["active"] and not status["reason"]:
        return f"{where}.reason must say why the profiler is not active"
    if problem is None and status.get("attribution") is False and not status.get("attribution_reason"):
        return f"{where}.attribution_reason must say why attribution is unavailable"
    return problem


_FRAME_FIELDS = {
    "file": (lambda v: isinstance(v, str), "a string"),
    "line": (lambda v: v is None or (_is_int(v) and v > 0), "a positive integer or null"),
    "function": (lambda v: isinstance(v, str), "a string"),
    "cell_id": (_optional_str, "a string or null"),
    "cell_line": (lambda v: v is None or (_is_int(v) and v > 0), "a positive integer or null"),
}
_SITE_FIELDS = {
    **_FRAME_FIELDS,
    "bytes": (_is_bytes, "a non-negative integer"),
    "count": (_is_bytes, "a non-negative integer"),
    "stack": (lambda v: isinstance(v, list), "a list"),
}


def validate_site(site: Any, where: str = "site") -> Optional[str]:
    problem = _check_fields(site, where, _SITE_FIELDS)
    if problem:
        return problem
    if "execution_count" in site and not _optional_int(site["execution_count"]):
        return f"{where}.execution_count must be an integer or null"
    for i, frame in enumerate(site["stack"]):
        problem = _check_fields(frame, f"{where}.stack[{i}]", _FRAME_FIELDS)
        if problem:
            return problem
    return None


def validate_sites(sites: Any, where: str) -> Optional[str]:
    if not isinstance(sites, list):
        return f"{where} must be a list"
    for i, site in enumerate(sites):
        problem = validate_site(site, f"{where}[{i}]")
        if problem:
            return problem
    return None


_RETAINED_FIELDS = {
    "cell_id": (_optional_str, "a string or null"),
    "bytes": (_is_bytes, "a non-negative integer"),
    "sites": (lambda v: isinstance(v, list), "a list"),
}


def validate_retained(retained: Any, where: str = "retained_by_cell") -> Optional[str]:
    """``null`` (attribution unavailable) or a list of ``{"cell_id", "bytes", "sites", ...}``."""
    if retained is None:
        return None
    if not isinstance(retained, list):
        return f"{where} must be a list or null"
    for i, entry in enumerate(retained):
        here = f"{where}[{i}]"
        problem = _check_fields(entry, here, _RETAINED_FIELDS) or validate_sites(entry["sites"], f"{here}.sites")
        if problem:
            return problem
        for key in ("seq", "execution_count"):
            if key in entry and not _optional_int(entry[key]):
                return f"{here}.{key} must be an integer or null"
        if "count" in entry and not _is_bytes(entry["count"]):
            return f"{here}.count must be a non-negative integer"
    return None


def validate_cell_record(cell: Any, where: str = "cell") -> Optional[str]:
    problem = _check_fields(cell, where, _CELL_FIELDS)
    if problem:
        return problem
    if cell["peak_bytes"] < max(cell["start_bytes"], cell["end_bytes"]):
        return f"{where}.peak_bytes is below start_bytes or end_bytes"
    for key in _BYTES_OPTIONAL:
        if key in cell and not _is_bytes(cell[key]):
            return f"{where}.{key} must be a non-negative integer"
    if "seq" in cell and not _is_int(cell["seq"]):
        return f"{where}.seq must be an integer"
    for key in ("top_at_peak", "retained"):
        if key in cell:
            problem = validate_sites(cell[key], f"{where}.{key}")
            if problem:
                return problem
    return None


def _limit_ok(msg: dict) -> Optional[str]:
    limit = msg.get("limit")
    if limit is not None and not (_is_int(limit) and 1 <= limit <= MAX_LIMIT):
        return f"{msg['type']}.limit must be an integer in 1..{MAX_LIMIT} or absent"
    return None


def _validate_request(msg: dict) -> Optional[str]:
    """Browser → kernel bodies."""
    kind = msg["type"]
    if kind in ("sync", "clear"):
        return None
    if kind == "configure":
        if "mode" in msg and msg["mode"] not in MODES:
            return f"configure.mode must be one of {MODES}"
        if "top_n" in msg and not (_is_int(msg["top_n"]) and 1 <= msg["top_n"] <= MAX_LIMIT):
            return f"configure.top_n must be an integer in 1..{MAX_LIMIT}"
        return None
    if kind == "cell_detail":
        if not _is_int(msg.get("seq")):
            return "cell_detail.seq must be an integer"
        return _limit_ok(msg)
    if kind == "retained_by_cell":
        return _limit_ok(msg)
    return f"unknown message type {kind!r}"


def _validate_answer(msg: dict) -> Optional[str]:
    """Kernel → browser bodies."""
    kind = msg["type"]
    if kind == "status":
        return validate_status(msg.get("status"))
    if kind == "cell_start":
        return _check_fields(msg.get("cell"), "cell", _CELL_START_FIELDS)
    if kind == "cell":
        return validate_cell_record(msg.get("cell"))
    if kind == "history":
        problem = validate_status(msg.get("status"))
        if problem:
            return problem
        cells = msg.get("cells")
        if not isinstance(cells, list):
            return "history.cells must be a list"
        for i, cell in enumerate(cells):
            problem = validate_cell_record(cell, f"cells[{i}]")
            if problem:
                return problem
        if "running" not in msg:
            return "history lacks 'running'"
        if msg["running"] is not None:
            problem = _check_fields(msg["running"], "running", _CELL_START_FIELDS)
            if problem:
                return problem
        return validate_retained(msg.get("retained_by_cell"))
    if kind == "error":
        return None if isinstance(msg.get("message"), str) else "error.message must be a string"
    if kind == "samples":
        if not _optional_int(msg.get("seq")):
            return "samples.seq must be an integer or null"
        samples = msg.get("samples")
        if not isinstance(samples, list) or not all(
                isinstance(s, list) and len(s) == 2 and _is_number(s[0]) and _is_bytes(s[1]) for s in samples):
            return "samples.samples must be a list of [time, bytes] pairs"
        return None
    if kind == "cell_detail":
        if not _is_int(msg.get("seq")):
            return "cell_detail.seq must be an integer"
        if "cell" not in msg:
            return "cell_detail lacks 'cell'"
        return None if msg["cell"] is None else validate_cell_record(msg["cell"])
    if kind == "retained_by_cell":
        if "retained_by_cell" not in msg:
            return "retained_by_cell lacks 'retained_by_cell'"
        return validate_retained(msg["retained_by_cell"])
    return f"unknown message type {kind!r}"


def validate(msg: Any, allowed_types: frozenset = KERNEL_TYPES, incoming: bool = False) -> Optional[str]:
    """Return ``None`` when ``msg`` is a valid protocol v1 message of an allowed type, else why not.

    ``incoming``: validate the body as a browser → kernel message (request), else as kernel → browser."""
    try:
        if not isinstance(msg, dict):
            return f"a message must be a JSON object, not {type(msg).__name__}"
        version = msg.get("protocol")
        if not _is_int(version) or version != PROTOCOL_VERSION:
            return f"unsupported protocol {version!r} (this kernel speaks {PROTOCOL_VERSION})"
        kind = msg.get("type")
        if not isinstance(kind, str):
            return "'type' must be a string"
        if kind not in allowed_types:
            return f"unknown message type {kind!r}"
        return _validate_request(msg) if incoming else _validate_answer(msg)
    except Exception as exc:  # a validator must never raise
        return f"could not validate message: {exc!r}"


def validate_incoming(msg: Any) -> Optional[str]:
    """Validate a browser → kernel message."""
    return validate(msg, BROWSER_TYPES, incoming=True)


def validate_outgoing(msg: Any) -> Optional[str]:
    """Validate a kernel → browser message."""
    return validate(msg, KERNEL_TYPES, incoming=False)
