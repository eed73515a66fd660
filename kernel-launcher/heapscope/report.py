"""The report written by ``heapscope report`` and ``heapscope run`` (schema: ``protocol/report.schema.json``).

Pure functions, shared by every command that writes a report, so that the format lives in one place.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

REPORT_VERSION = 2  # 2: kernel.status.live_hz renamed tick_hz (protocol/report.schema.json)
OUTCOMES = ("ok", "error", "unprofiled")
#: ``build_report(holders=...)`` not given: the report has no ``holders`` (``heapscope report --no-holders``).
NO_HOLDERS: Any = object()


def build_report(
    *,
    cells: Iterable[Mapping[str, Any]],
    target_kind: str,
    target_path: Optional[str],
    kernel_name: Optional[str],
    kernel_status: Optional[Mapping[str, Any]],
    outcome: str,
    message: Optional[str] = None,
    failed_cell: Optional[Mapping[str, Any]] = None,
    version: str,
    retained_by_cell: Optional[list] = None,
    holders: Any = NO_HOLDERS,
) -> dict:
    """``retained_by_cell``: the agent's (protocol ``retained_by_cell``) at the end of the run; ``None``
    when line-level attribution was unavailable. ``holders``: who holds the heap after the last cell (protocol
    ``Holders``, ``None`` when the scan could not run); left out of the report when not given."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    report = {
        "heapscope_report": REPORT_VERSION,
        "generator": {"name": "heapscope", "version": version},
        "created_at": time.time(),
        "target": {"kind": target_kind, "path": target_path},
        "kernel": {"name": kernel_name, "status": None if kernel_status is None else dict(kernel_status)},
        "outcome": {
            "status": outcome,
            "message": message,
            "failed_cell": None if failed_cell is None else dict(failed_cell),
        },
        "cells": [dict(c) for c in cells],
        "retained_by_cell": None if retained_by_cell is None else list(retained_by_cell),
    }
    if holders is not NO_HOLDERS:
        report["holders"] = holders
    if kernel_status is not None and "memory_limit" in kernel_status:  # the kernel's limit (agent/limits.py)
        report["memory_limit"] = kernel_status["memory_limit"]
    return report


def write_json(report: Mapping[str, Any], path: Path) -> None:
    """Write atomically (a reader never sees half a report), never through a planted link, with the
    permissions the umask gives any document (:mod:`heapscope.files`)."""
    from .files import atomic_writer

    with atomic_writer(path) as out:
        json.dump(report, out, indent=1)
        out.write("\n")
