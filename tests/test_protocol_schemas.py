"""The protocol's JSON Schemas (protocol/), the agent's generated validators, and the text clipping that
keeps what the kernel sends inside the schemas' limits."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

import jsonschema
import pytest

from heapscope.agent import _protocol_validators, protocol
from heapscope.report import build_report

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = sorted(p for p in (ROOT / "protocol").rglob("*.schema.json") if "fixtures" not in p.parts)
#: The comm protocol and the report (issue 10's caps): every field has a limit.
WIRE_AND_REPORT = ("defs.schema.json", "kernel.schema.json", "browser.schema.json", "report.schema.json")
DEFS = json.loads((ROOT / "protocol" / "defs.schema.json").read_text(encoding="utf-8"))["$defs"]


def generator():
    spec = importlib.util.spec_from_file_location("protocol_generate_py", ROOT / "protocol" / "generate_py.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: str(p.relative_to(ROOT / "protocol")))
def test_every_schema_is_valid_2020_12(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_one_schema_per_message_in_each_direction():
    names = {str(p.relative_to(ROOT / "protocol")) for p in SCHEMAS}
    assert {f"kernel/{k}.schema.json" for k in protocol.KERNEL_TYPES} <= names
    assert {f"browser/{k}.schema.json" for k in protocol.BROWSER_TYPES} <= names
    assert {
        "status",
        "cell_start",
        "cell",
        "history",
        "ticks",
        "cell_detail",
        "retained_by_cell",
        "holders_progress",
        "holders",
        "holder_released",
        "error",
    } == protocol.KERNEL_TYPES


def test_every_kernel_string_and_list_has_a_limit():
    """Every string type has a maxLength and refuses lone surrogates; every list has a maxItems; every number
    a maximum (if/then refinements of a property already limited elsewhere are left out)."""

    def walk(node, where):
        if isinstance(node, dict):
            types = node.get("type")
            types = types if isinstance(types, list) else [types]
            if "string" in types:
                assert "maxLength" in node and "pattern" in node, where
            if "array" in types:
                assert "maxItems" in node, where
            if "integer" in types or "number" in types:
                assert "maximum" in node, where
            for key, value in node.items():
                if key not in ("if", "then", "else"):
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    wire = [p for p in SCHEMAS if p.parent.name in ("kernel", "browser") or p.name in WIRE_AND_REPORT]
    assert len(wire) == len(protocol.KERNEL_TYPES) + len(protocol.BROWSER_TYPES) + len(WIRE_AND_REPORT)
    for path in wire:
        walk(json.loads(path.read_text(encoding="utf-8")), path.name)


def test_generated_validators_are_current():
    assert generator().generate() == (
        ROOT / "kernel-launcher" / "heapscope" / "agent" / "_protocol_validators.py"
    ).read_text(encoding="utf-8"), "run: python protocol/generate_py.py"


def test_generated_validators_need_no_library():
    tree = ast.parse(Path(_protocol_validators.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"re", "decimal"}, imported


def test_limits_come_from_the_schema():
    assert {name: d["maxLength"] for name, d in DEFS.items() if "maxLength" in d} == protocol.LIMITS
    assert DEFS["TruncationMarker"]["const"] == protocol.TRUNCATION_MARKER
    assert protocol.PROTOCOL_VERSION == DEFS["ProtocolVersion"]["const"] == 2


@pytest.mark.parametrize("kind", sorted(protocol.LIMITS))
def test_clip_fits_any_text_into_its_type(kind):
    limit = protocol.LIMITS[kind]
    long = "é" * (limit + 10)
    clipped = protocol.clip(long, kind)
    assert len(clipped) == limit and clipped.endswith(protocol.TRUNCATION_MARKER)
    assert protocol.clip("x" * limit, kind) == "x" * limit
    assert protocol.clip("\ud800.py", kind) == "\ufffd.py"


def test_clipped_names_make_a_valid_message():
    """A frame whose file and function names are hostile (a lone surrogate, 1 MB) still makes a valid cell
    message once clipped."""
    hostile = "\ud800" + "x" * 1_000_000
    frame = {
        "file": protocol.clip(hostile, "FileName"),
        "line": 1,
        "function": protocol.clip(hostile, "FunctionName"),
        "cell_id": protocol.clip(hostile, "CellId"),
        "cell_line": 1,
        "execution_count": 1,
    }
    record = {
        "seq": 1,
        "cell_id": frame["cell_id"],
        "execution_count": 1,
        "source": protocol.clip(hostile, "Source"),
        "start_bytes": 0,
        "peak_bytes": 1,
        "end_bytes": 1,
        "status": "ok",
        "started_at": 1.0,
        "ended_at": 2.0,
        "top_at_peak": [{**frame, "bytes": 1, "count": 1, "stack": [frame]}],
    }
    assert protocol.validate_outgoing(protocol.cell_message(record)) is None
    unclipped = {**record, "source": hostile}
    assert "source" in protocol.validate_outgoing(protocol.cell_message(unclipped))
    json.dumps(protocol.cell_message(record), ensure_ascii=False).encode("utf-8")  # encodable


def test_error_messages_are_short_and_never_raise():
    problem = protocol.validate_incoming({"protocol": 2, "type": "x" * 1_000_000})
    assert len(problem) < 300 and problem.endswith(protocol.TRUNCATION_MARKER)
    assert len(protocol.error_message("y" * 10**6)["message"]) == protocol.LIMITS["Message"]
    nested: list = []
    for _ in range(sys.getrecursionlimit() * 2):
        nested = [nested]
    site = {
        "file": "f",
        "line": 1,
        "function": "g",
        "cell_id": None,
        "cell_line": None,
        "bytes": 1,
        "count": 1,
        "stack": nested,
    }
    assert "stack" in protocol.validate_site(site)
    assert protocol.validate_incoming(object()) is not None


def test_ticks_leave_out_readings_that_are_not_finite():
    msg = protocol.ticks_message(3, [(1.5, 10), (float("nan"), 11), (float("inf"), 12), (2.5, 13)])
    assert msg["ticks"] == [[1.5, 10], [2.5, 13]] and protocol.validate_outgoing(msg) is None
    assert "rss" not in msg
    msg = protocol.ticks_message(3, [(1.5, 10)], rss=[(float("nan"), 5), (1.6, 900)])
    assert msg["rss"] == [[1.6, 900]] and protocol.validate_outgoing(msg) is None


def test_incoming_integers_are_made_int():
    msg = {"protocol": 2, "type": "cell_detail", "seq": 3.0, "limit": 10.0}
    assert protocol.validate_incoming(msg) is None
    assert type(msg["seq"]) is int and type(msg["limit"]) is int


def test_built_report_validates():
    status = {
        "active": True,
        "reason": None,
        "shim_version": "0.1.0",
        "mode": "exact",
        "pid": 1,
        "python": "3.11",
        "current_bytes": 5,
        "profiler_bytes": 0,
        "tick_hz": 20,
    }
    cell = {
        "seq": 1,
        "cell_id": "a",
        "index": 0,
        "execution_count": 1,
        "source": "x",
        "start_bytes": 0,
        "peak_bytes": 2,
        "end_bytes": 1,
        "status": "ok",
        "started_at": 1.0,
        "ended_at": 2.0,
    }
    report = build_report(
        cells=[cell],
        target_kind="notebook",
        target_path="n.ipynb",
        kernel_name="heapscope",
        kernel_status=status,
        outcome="ok",
        version="0.1.0",
    )
    assert report["heapscope_report"] == 2
    assert protocol.validate_report(report) is None
    report["cells"][0]["peak_bytes"] = 0
    assert "peak_bytes" in protocol.validate_report(report)
