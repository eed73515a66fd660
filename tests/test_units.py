"""The pure parts, without a kernel: protocol validation (against docs/protocol.md's own examples), the
ledger, the launcher's decisions, and the installed kernelspec's files."""

from __future__ import annotations

import json
import re
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from heapscope import launcher
from heapscope.agent import protocol
from heapscope.agent.ledger import Ledger, Stats

ROOT = Path(__file__).resolve().parents[1]


# --- protocol ---------------------------------------------------------------------------------------


def doc_examples():
    """The complete JSON examples in docs/protocol.md (skipping the abbreviated ones)."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        try:
            yield json.loads(block)
        except ValueError:
            continue


def test_protocol_doc_examples_validate():
    examples = list(doc_examples())
    assert {e["type"] for e in examples} >= {"status", "cell_start", "error"}
    for example in examples:
        assert protocol.validate_outgoing(example) is None, example


def test_built_messages_validate():
    status = {
        "active": False,
        "reason": "no shim",
        "shim_version": None,
        "mode": "default",
        "pid": 1,
        "python": "3.11.7",
        "current_bytes": 0,
        "profiler_bytes": 0,
    }
    record = {
        "cell_id": None,
        "execution_count": None,
        "source": "",
        "start_bytes": 5,
        "peak_bytes": 9,
        "end_bytes": 7,
        "status": "aborted",
        "started_at": 1.0,
        "ended_at": 2.0,
    }
    for msg in (
        protocol.status_message(status),
        protocol.cell_message(record),
        protocol.history_message(status, [record], None),
        protocol.error_message("x"),
        protocol.cell_start_message({"cell_id": "a", "execution_count": 1, "start_bytes": 0, "started_at": 0.5}),
    ):
        assert protocol.validate_outgoing(msg) is None, msg
    assert "peak_bytes" in protocol.validate_outgoing(protocol.cell_message({**record, "peak_bytes": 6}))
    assert "reason" in protocol.validate_outgoing(protocol.status_message({**status, "reason": None}))


@pytest.mark.parametrize(
    "msg,problem",
    [
        (None, "JSON object"),
        ({"protocol": "1", "type": "sync"}, "unsupported protocol"),
        ({"protocol": 1.0, "type": "sync"}, "unsupported protocol"),
        ({"protocol": 2, "type": 3}, "'type'"),
        ({"protocol": 2, "type": "history"}, "unknown message type"),
    ],
)
def test_incoming_rejections(msg, problem):
    assert problem in protocol.validate_incoming(msg)


def test_incoming_accepts_extra_keys():
    assert protocol.validate_incoming({"protocol": 2, "type": "sync", "future": [1, 2]}) is None


# --- ledger -----------------------------------------------------------------------------------------


def stats(current: int, peak: int, allocated: int = 0) -> Stats:
    return Stats(current_bytes=current, peak_bytes=peak, allocated_bytes=allocated)


def test_ledger_records_a_cell():
    ledger = Ledger()
    start = ledger.open_cell("k", "id", 1, "src", 10.0, stats(100, 150, 1000), 100)
    assert start["start_bytes"] == 100 and ledger.running() == start
    record = ledger.close_cell("k", "ok", 11.0, stats(120, 300, 1500), 1)
    assert (record.start_bytes, record.peak_bytes, record.end_bytes) == (100, 300, 120)
    assert record.allocated_bytes == 500 and ledger.running() is None
    assert ledger.history() == [record.to_dict()]
    assert ledger.since(record.seq) == []


def test_ledger_nesting_keeps_the_outer_peak():
    ledger = Ledger()
    ledger.open_cell("outer", "o", 1, "", 0.0, stats(100, 100), 100)
    ledger.note_peak(900)  # seen before the shim's peak is reset for the inner cell
    ledger.open_cell("inner", None, None, "", 0.0, stats(100, 900), 100)
    inner = ledger.close_cell("inner", "ok", 1.0, stats(200, 250))
    outer = ledger.close_cell("outer", "ok", 2.0, stats(200, 210))
    assert inner.peak_bytes == 250 and outer.peak_bytes == 900
    assert [r["seq"] for r in ledger.history()] == [inner.seq, outer.seq]


def test_ledger_unmatched_close_and_aborted_inner():
    ledger = Ledger()
    assert ledger.close_cell("none", "ok", 0.0, stats(1, 1)) is None
    ledger.open_cell("outer", None, 1, "", 0.0, stats(0, 0), 0)
    ledger.open_cell("lost", None, None, "", 0.0, stats(0, 0), 0)
    outer = ledger.close_cell("outer", "error", 1.0, stats(5, 5))
    statuses = [(r["seq"], r["status"]) for r in ledger.history()]
    assert statuses == [(2, "aborted"), (outer.seq, "error")]
    ledger.clear()
    assert ledger.history() == [] and len(ledger) == 0


def test_ledger_history_is_bounded():
    ledger = Ledger(max_history=3)
    for i in range(5):
        ledger.open_cell(i, None, i, "", 0.0, stats(0, 0), 0)
        ledger.close_cell(i, "ok", 0.0, stats(0, 0))
    assert [r["execution_count"] for r in ledger.history()] == [2, 3, 4]


# --- launcher ---------------------------------------------------------------------------------------


def test_supported_pythons():
    assert launcher.python_problem((3, 9)) is None and launcher.python_problem((3, 13)) is None
    assert "3.14 is not supported" in launcher.python_problem((3, 14))
    assert launcher.python_problem((3, 8)) is not None
    assert launcher.python_problem() is None


def test_missing_override_is_reported(tmp_path):
    shim, problem = launcher.find_shim({"HEAPSCOPE_SHIM_PATH": str(tmp_path / "x.so")})
    assert shim is None and str(tmp_path / "x.so") in problem and "HEAPSCOPE_SHIM_PATH" in problem


def test_unloadable_shim_is_caught_by_the_probe(tmp_path):
    fake = tmp_path / "libheapscope.so"
    fake.write_bytes(b"not an ELF file")
    env, problem = launcher.kernel_environment({"HEAPSCOPE_SHIM_PATH": str(fake), "PATH": "/usr/bin:/bin"})
    assert problem is not None and "cannot be preloaded" in problem
    assert env["HEAPSCOPE_SHIM_ERROR"] == problem
    assert "LD_PRELOAD" not in env and "HEAPSCOPE_ENABLE" not in env


def test_preload_value_keeps_others_once():
    shim = Path("/opt/x/libheapscope.so")
    assert launcher.preload_value(shim, "") == "/opt/x/libheapscope.so"
    assert (
        launcher.preload_value(shim, "libm.so.6 /old/libheapscope.so:libz.so")
        == "/opt/x/libheapscope.so:libm.so.6:libz.so"
    )


def test_kernel_command_loads_the_agent():
    assert launcher.kernel_command(["-f", "c.json"]) == [
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "c.json",
        "--ext",
        "heapscope.agent",
    ]


# --- the installed kernelspec ----------------------------------------------------------------------


def png_size(path: Path) -> tuple:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_installed_kernelspec(installed):
    spec = json.loads((installed / "kernel.json").read_text())
    assert spec["display_name"] == "Python 3 (heapscope)" and spec["language"] == "python"
    assert spec["argv"] == ["python", "-m", "heapscope.launcher", "-f", "{connection_file}"]
    assert spec["metadata"]["debugger"] is True
    assert png_size(installed / "logo-32x32.png") == (32, 32)
    assert png_size(installed / "logo-64x64.png") == (64, 64)
    assert ET.parse(installed / "logo-svg.svg").getroot().tag == "{http://www.w3.org/2000/svg}svg"
