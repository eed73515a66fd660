"""Protocol v1 between the in-kernel agent and the browser (``docs/protocol.md``).

Builders return plain JSON-able dicts; :func:`validate` checks any message against the document and
returns a description of the first problem (or ``None``). Nothing here raises for bad input: a
profiler must never raise into the kernel.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

PROTOCOL_VERSION = 1
COMM_TARGET = "heapscope"

#: Message types the browser may send, and the ones the kernel sends.
BROWSER_TYPES = frozenset({"sync", "clear"})
KERNEL_TYPES = frozenset({"status", "cell_start", "cell", "history", "error"})

CELL_STATUSES = ("ok", "error", "aborted")
MODES = ("default", "exact")

_BYTES_OPTIONAL = ("allocated_bytes", "freed_bytes", "alloc_count", "free_count")


def _message(kind: str, **fields: Any) -> dict:
    return {"protocol": PROTOCOL_VERSION, "type": kind, **fields}


def status_message(status: Mapping[str, Any]) -> dict:
    return _message("status", status=dict(status))


def cell_start_message(cell: Mapping[str, Any]) -> dict:
    return _message("cell_start", cell=dict(cell))


def cell_message(record: Mapping[str, Any]) -> dict:
    return _message("cell", cell=dict(record))


def history_message(status: Mapping[str, Any], cells: list, running: Optional[Mapping[str, Any]]) -> dict:
    return _message(
        "history",
        status=dict(status),
        cells=[dict(c) for c in cells],
        running=None if running is None else dict(running),
    )


def error_message(text: str) -> dict:
    return _message("error", message=str(text))


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


def validate_status(status: Any, where: str = "status") -> Optional[str]:
    problem = _check_fields(status, where, _STATUS_FIELDS)
    if problem is None and not status["active"] and not status["reason"]:
        return f"{where}.reason must say why the profiler is not active"
    if problem is None and not isinstance(status.get("degraded", False), bool):
        return f"{where}.degraded must be a boolean"
    return problem


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
    return None


def _validate_body(msg: dict) -> Optional[str]:
    kind = msg["type"]
    if kind in ("sync", "clear"):
        return None
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
            return _check_fields(msg["running"], "running", _CELL_START_FIELDS)
        return None
    if kind == "error":
        return None if isinstance(msg.get("message"), str) else "error.message must be a string"
    return f"unknown message type {kind!r}"


def validate(msg: Any, allowed_types: frozenset = BROWSER_TYPES | KERNEL_TYPES) -> Optional[str]:
    """Return ``None`` when ``msg`` is a valid protocol v1 message of an allowed type, else why not."""
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
        return _validate_body(msg)
    except Exception as exc:  # a validator must never raise
        return f"could not validate message: {exc!r}"


def validate_incoming(msg: Any) -> Optional[str]:
    """Validate a browser → kernel message."""
    return validate(msg, BROWSER_TYPES)


def validate_outgoing(msg: Any) -> Optional[str]:
    """Validate a kernel → browser message."""
    return validate(msg, KERNEL_TYPES)
