"""``heapscope report``: the installed console script runs a notebook headless and writes the ledger."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import nbformat

from heapscope.agent.protocol import validate_report
from kernel_session import scrubbed_environ

ROOT = Path(__file__).resolve().parents[1]
HEAPSCOPE = Path(sys.executable).with_name("heapscope")


def notebook(tmp_path: Path, sources: List[str]) -> Tuple[Path, nbformat.NotebookNode]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a heapscope test notebook")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
    nb.metadata["kernelspec"] = {"name": "heapscope", "display_name": "Python 3 (heapscope)", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return path, nb


def report(nb_path: Path, env: Optional[dict] = None) -> Tuple[subprocess.CompletedProcess, Optional[dict]]:
    out = nb_path.with_name("report.json")
    run = subprocess.run(
        [str(HEAPSCOPE), "report", str(nb_path), "--json", str(out)],
        env={**scrubbed_environ(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    data = json.loads(out.read_text()) if out.exists() else None
    if data is not None:
        assert validate_report(data) is None, validate_report(data)  # protocol/report.schema.json
    return run, data


def test_version(installed):
    run = subprocess.run([str(HEAPSCOPE), "--version"], capture_output=True, text=True, timeout=60)
    version = json.loads((ROOT / "package.json").read_text())["version"]
    assert run.returncode == 0 and run.stdout.strip() == f"heapscope {version}"


def test_report_of_a_notebook(installed, tmp_path):
    path, nb = notebook(tmp_path, ["x = bytearray(200_000_000)", "", "del x", "y = [0] * 10"])
    run, data = report(path)
    assert run.returncode == 0, run.stderr
    assert "[1/3]" in run.stderr and "[3/3]" in run.stderr
    # each cell's line reads as its badge does (lab-extension/format/bytes.ts): "+200 MB", not "+200.0 MB"
    assert "    +200 MB · peak +200 MB" in run.stderr, run.stderr
    from heapscope.report import REPORT_VERSION

    assert data["heapscope_report"] == REPORT_VERSION
    assert data["kernel"]["status"]["active"] is True
    assert data["outcome"] == {"status": "ok", "message": None, "failed_cell": None}
    cells = data["cells"]
    assert [c["index"] for c in cells] == [1, 3, 4]  # the markdown and the empty cell do not run
    assert [c["cell_id"] for c in cells] == [nb.cells[i].id for i in (1, 3, 4)]
    assert [c["execution_count"] for c in cells] == [1, 2, 3]
    assert [c["source"] for c in cells] == [nb.cells[i].source for i in (1, 3, 4)]
    alloc, free, _ = cells
    assert abs(alloc["peak_bytes"] - alloc["start_bytes"] - 200_000_000) <= 2_000_000, alloc
    assert abs(alloc["end_bytes"] - alloc["start_bytes"] - 200_000_000) <= 2_000_000, alloc
    assert abs(free["end_bytes"] - free["start_bytes"] + 200_000_000) <= 2_000_000, free
    assert all(c["status"] == "ok" for c in cells)


def test_notebook_failing_midway_exits_non_zero_with_the_cells_that_ran(installed, tmp_path):
    path, nb = notebook(tmp_path, ["a = bytearray(50_000_000)", "raise ValueError('boom')", "never = 1"])
    run, data = report(path)
    assert run.returncode == 1
    assert "ValueError: boom" in run.stderr
    assert data["outcome"]["status"] == "error"
    assert data["outcome"]["failed_cell"] == {"index": 2, "cell_id": nb.cells[2].id}
    assert [(c["index"], c["status"]) for c in data["cells"]] == [(1, "ok"), (2, "error")]
    first = data["cells"][0]
    assert abs(first["end_bytes"] - first["start_bytes"] - 50_000_000) <= 500_000, first


def test_kernel_dying_midway_keeps_the_cells_that_ran(installed, tmp_path):
    path, _ = notebook(tmp_path, ["b = bytearray(1_000_000)", "import os\nos._exit(1)", "never = 1"])
    run, data = report(path)
    assert run.returncode == 1
    assert "kernel died" in run.stderr
    assert data["outcome"]["status"] == "error" and data["outcome"]["failed_cell"]["index"] == 2
    # the cell it died in comes from the kernel's post-mortem snapshot (agent/guard.py)
    assert [(c["index"], c["status"]) for c in data["cells"]] == [(1, "ok"), (2, "killed")]
    assert data["cells"][1]["post_mortem"]["cause"] == "unknown"  # os._exit: no signal, no OOM kill


def test_unprofiled_kernel_is_reported(installed, tmp_path):
    path, _ = notebook(tmp_path, ["c = 1"])
    run, data = report(path, {"HEAPSCOPE_SHIM_PATH": "/nonexistent/libheapscope.so"})
    assert run.returncode == 3
    assert "/nonexistent/libheapscope.so" in run.stderr
    assert data["outcome"]["status"] == "unprofiled" and data["cells"] == []
    assert data["kernel"]["status"]["active"] is False


def test_unreadable_notebook_is_a_usage_error(installed, tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    run, data = report(bad)
    assert run.returncode == 2 and data is None
    assert "cannot read" in run.stderr
