"""Per-cell memory budgets: the rules (heapscope.budgets) and ``heapscope report --max-peak/--max-retained``
with real kernels (exit statuses 0, 1, 2 and 4; the budget fields of the report)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import nbformat
import pytest

from heapscope.agent.protocol import validate_report
from heapscope.budgets import (
    BudgetError,
    Violation,
    apply_budgets,
    budget_from_metadata,
    first_code_line,
    notebook_budgets,
    over_budget,
    parse_limit,
    resolve,
    retained_bytes,
)
from kernel_session import scrubbed_environ

HEAPSCOPE = Path(sys.executable).with_name("heapscope")
MB = 1_000_000

# --- the rules ------------------------------------------------------------------------------------


def test_limits_are_sizes_as_the_badges_write_them():
    assert parse_limit("2 GB", "x") == 2_000_000_000
    assert parse_limit("500MB", "x") == 500 * MB
    assert parse_limit("2GiB", "x") == 2 * 2**30
    assert parse_limit(1234, "x") == 1234
    assert parse_limit(None, "x") is None
    for bad in ("two GB", "5 XB", "-1 MB", True, -5, 1.5, [], {}):
        with pytest.raises(BudgetError) as err:
            parse_limit(bad, "where")
        assert str(err.value).startswith("where: ")


def test_metadata_budget_and_its_errors():
    assert budget_from_metadata({}) == {}
    assert budget_from_metadata({"tags": []}) == {}
    assert budget_from_metadata({"heapscope": {"max_peak": "2 GB", "badge": "x"}}) == {"max_peak": 2_000_000_000}
    assert budget_from_metadata({"heapscope": {"max_retained": None}}) == {"max_retained": None}
    with pytest.raises(BudgetError, match=r'cell \[3\]: metadata "heapscope" must be an object'):
        budget_from_metadata({"heapscope": "2 GB"}, "cell [3]")
    with pytest.raises(BudgetError, match=r"cell \[3\] metadata heapscope.max_peak: not a size: '2 gigs'"):
        budget_from_metadata({"heapscope": {"max_peak": "2 gigs"}}, "cell [3]")


def test_the_cells_metadata_wins_key_by_key():
    defaults = {"max_peak": 100, "max_retained": 50}
    assert resolve({}, defaults) == {"max_peak": 100, "max_retained": 50}
    assert resolve({"max_peak": 7}, defaults) == {"max_peak": 7, "max_retained": 50}
    assert resolve({"max_peak": None}, defaults) == {"max_peak": None, "max_retained": 50}  # null: no budget
    assert resolve({}, {}) == {"max_peak": None, "max_retained": None}
    cells = [
        {"cell_type": "markdown", "metadata": {"heapscope": "ignored: not code"}},
        {"cell_type": "code", "metadata": {}},
        {"cell_type": "code", "metadata": {"heapscope": {"max_peak": None, "max_retained": None}}},
        {"cell_type": "code", "metadata": {"heapscope": {"max_retained": "1 kB"}}},
    ]
    assert notebook_budgets(cells, {"max_peak": 100}) == {
        1: {"max_peak": 100, "max_retained": None},
        3: {"max_peak": 100, "max_retained": 1000},
    }
    assert notebook_budgets(cells, {}) == {3: {"max_peak": None, "max_retained": 1000}}


def run(cell_id: Optional[str], count: int, start: int, peak: int, end: int, index: int, source: str = "x = 1"):
    return {
        "cell_id": cell_id,
        "execution_count": count,
        "source": source,
        "start_bytes": start,
        "peak_bytes": peak,
        "end_bytes": end,
        "index": index,
    }


def test_retained_is_the_cells_entry_at_the_end_of_the_run():
    cell = run("a", 1, 100, 500, 300, 0)
    retained = [
        {"cell_id": None, "execution_count": None, "seq": None, "bytes": 9999, "sites": []},  # outside any cell
        {"cell_id": "b", "execution_count": 2, "seq": 2, "bytes": 70, "sites": []},
        {"cell_id": "a", "execution_count": 1, "seq": 1, "bytes": 40, "sites": []},
    ]
    assert retained_bytes(cell, retained) == 40
    assert retained_bytes(run("c", 3, 0, 0, 0, 2), retained) == 0  # not listed: less than the smallest
    assert retained_bytes(run(None, 2, 0, 0, 0, 1), retained) == 0  # an id-less run matches id-less entries only
    idless = [{"cell_id": None, "execution_count": 2, "seq": 2, "bytes": 70, "sites": []}]
    assert retained_bytes(run(None, 2, 0, 0, 0, 1), idless) == 70
    # without attribution: the net growth, never negative
    assert retained_bytes(cell, None) == 200
    assert retained_bytes(run("a", 1, 300, 500, 100, 0), None) == 0


def test_over_budget_is_strictly_greater():
    cell = run("a", 1, 100, 600, 300, 0)  # peak added 500, net 200
    assert over_budget(cell, {"max_peak": 500, "max_retained": None}, None) == []
    assert over_budget(cell, {"max_peak": 499, "max_retained": None}, None) == ["max_peak"]
    assert over_budget(cell, {"max_peak": 499, "max_retained": 199}, None) == ["max_peak", "max_retained"]
    assert over_budget(cell, {"max_peak": None, "max_retained": 200}, None) == []


def test_violation_lines():
    source = "# load the data\n\ndf = pd.read_csv('a_really_long_file_name_here.csv', sep=';')\n"
    assert first_code_line(source) == "df = pd.read_csv('a_really_long_file_na…"
    assert len(first_code_line(source)) == 40
    assert first_code_line("# only a comment") == ""
    line = Violation(7, source, "max_peak", 2_400_000_000, 2_000_000_000).line()
    assert line == "cell [7] df = pd.read_csv('a_really_long_file_na…: peak +2.4 GB > budget 2 GB"
    assert Violation(0, "x = 1", "max_retained", 600 * MB, 500 * MB).line() == (
        "cell [0] x = 1: retained 600 MB > budget 500 MB"
    )


def test_apply_budgets_writes_the_fields_of_the_cells_that_have_one():
    report: Dict[str, Any] = {
        "cells": [
            run("a", 1, 0, 10 * MB, 0, 0, "a = 1"),
            run("b", 2, 0, 10 * MB, 5 * MB, 1, "b = 2"),
            {**run("c", 3, 0, 1, 0, 2), "index": None},  # not a notebook cell
        ],
        "retained_by_cell": [{"cell_id": "b", "execution_count": 2, "seq": 2, "bytes": 5 * MB, "sites": []}],
    }
    found = apply_budgets(report, {1: {"max_peak": 20 * MB, "max_retained": 1 * MB}, 2: {"max_peak": 0}})
    a, b, c = report["cells"]
    assert "budget" not in a and "over_budget" not in a
    assert b["budget"] == {"max_peak": 20 * MB, "max_retained": 1 * MB}
    assert b["over_budget"] == ["max_retained"]
    assert "budget" not in c
    assert [v.line() for v in found] == ["cell [1] b = 2: retained 5 MB > budget 1 MB"]


# --- heapscope report with real kernels ------------------------------------------------------------


def write_notebook(tmp_path: Path, cells: Sequence[Tuple[str, Optional[Any]]], name: str = "nb.ipynb") -> Path:
    """A notebook of code cells ``(source, heapscope metadata or None)`` after one markdown cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# budgets")]
    for source, budget in cells:
        cell = nbformat.v4.new_code_cell(source)
        if budget is not None:
            cell.metadata["heapscope"] = budget
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "heapscope", "display_name": "Python 3 (heapscope)", "language": "python"}
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def report(path: Path, *args: str) -> Tuple[subprocess.CompletedProcess, Optional[dict]]:
    out = path.with_suffix(".json")
    if out.exists():
        out.unlink()
    done = subprocess.run(
        [str(HEAPSCOPE), "report", str(path), "--json", str(out), *args],
        env=scrubbed_environ(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    data = json.loads(out.read_text()) if out.exists() else None
    if data is not None:
        assert validate_report(data) is None, validate_report(data)
    return done, data


def heapscope_lines(stderr: str) -> List[str]:
    return [line[len("heapscope: ") :] for line in stderr.splitlines() if line.startswith("heapscope: ")]


CELLS = [
    ("import numpy as np", None),
    ("big = np.ones(25_000_000)  # 200 MB, kept", {"max_peak": "150 MB"}),
    ("# a comment first\ntmp = bytearray(150_000_000)\ndel tmp", None),
    ("small = bytearray(1_000_000)", {"max_retained": None, "max_peak": "2 MB"}),
]


def test_budgets_from_metadata_exit_4_with_one_line_per_cell(installed, tmp_path):
    done, data = report(write_notebook(tmp_path, CELLS))
    assert done.returncode == 4, done.stderr
    lines = heapscope_lines(done.stderr)
    over = [line for line in lines if "> budget" in line]
    assert len(over) == 1, lines
    assert over[0].startswith("cell [2] big = np.ones(25_000_000)  # 200 MB, ke…: peak +2"), over
    assert over[0].endswith("MB > budget 150 MB"), over
    assert lines[-1] == "1 cell over budget"
    numpy, big, tmp, small = data["cells"]
    assert data["outcome"]["status"] == "ok"  # the run itself went well
    assert big["budget"] == {"max_peak": 150 * MB, "max_retained": None}
    assert big["over_budget"] == ["max_peak"]
    for cell in (numpy, tmp):  # no budget at all
        assert "budget" not in cell and "over_budget" not in cell
    assert small["budget"] == {"max_peak": 2 * MB, "max_retained": None} and small["over_budget"] == []


def test_command_line_budgets_apply_to_every_cell_and_metadata_wins(installed, tmp_path):
    path = write_notebook(tmp_path, CELLS)
    done, data = report(path, "--max-peak", "120 MB", "--max-retained", "100MB")
    assert done.returncode == 4, done.stderr
    over = [line for line in heapscope_lines(done.stderr) if "> budget" in line]
    assert len(over) == 3, over
    numpy, big, tmp, small = data["cells"]
    # importing numpy (~70 MB) is within both command-line budgets
    assert numpy["budget"] == {"max_peak": 120 * MB, "max_retained": 100 * MB} and numpy["over_budget"] == []
    # its own max_peak (150 MB) wins over --max-peak; --max-retained applies (big is kept: 200 MB)
    assert big["budget"] == {"max_peak": 150 * MB, "max_retained": 100 * MB}
    assert big["over_budget"] == ["max_peak", "max_retained"]
    assert over[0].startswith("cell [2] big = ") and over[0].endswith("> budget 150 MB"), over
    assert over[1].startswith("cell [2] big = ") and ": retained 2" in over[1], over
    assert over[1].endswith("MB > budget 100 MB"), over
    # the command line's budgets: a peak of 150 MB, nothing kept
    assert tmp["budget"] == {"max_peak": 120 * MB, "max_retained": 100 * MB}
    assert tmp["over_budget"] == ["max_peak"]
    assert over[2].startswith("cell [3] tmp = bytearray(150_000_000): peak +15"), over
    # null removes --max-retained for this cell, its own max_peak replaces --max-peak
    assert small["budget"] == {"max_peak": 2 * MB, "max_retained": None} and small["over_budget"] == []
    # generous budgets: exit 0, the fields still there
    done, data = report(path, "--max-peak", "1 GB")
    assert done.returncode == 4  # big's own 150 MB still applies
    done, data = report(
        write_notebook(tmp_path, [(source, None) for source, _ in CELLS], "plain.ipynb"), "--max-peak", "1GB"
    )
    assert done.returncode == 0, done.stderr
    assert all(c["budget"] == {"max_peak": 10**9, "max_retained": None} for c in data["cells"])
    assert all(c["over_budget"] == [] for c in data["cells"])


def test_a_failing_cell_is_exit_1_even_over_budget(installed, tmp_path):
    path = write_notebook(tmp_path, [("x = bytearray(30_000_000)", {"max_peak": "1 MB"}), ("1 / 0", None)])
    done, data = report(path)
    assert done.returncode == 1, done.stderr
    assert any(line.startswith("cell [1] x = bytearray(30_000_000): peak +") for line in heapscope_lines(done.stderr))
    assert data["cells"][0]["over_budget"] == ["max_peak"]


@pytest.mark.parametrize(
    "metadata, args, message",
    [
        ("2 GB", [], 'cell [2]: metadata "heapscope" must be an object such as {"max_peak": "2 GB"}, not str'),
        ({"max_peak": "lots"}, [], "cell [2] metadata heapscope.max_peak: not a size: 'lots'"),
        ({"max_retained": True}, [], "cell [2] metadata heapscope.max_retained: True is not a size"),
        (None, ["--max-peak", "1 XB"], "--max-peak: not a size: '1 XB'"),
        (None, ["--max-retained", ""], "--max-retained: not a size: ''"),
    ],
)
def test_bad_budgets_are_exit_2_before_running(installed, tmp_path, metadata, args, message):
    path = write_notebook(tmp_path, [("x = 1", None), ("y = 2", metadata)])
    done, data = report(path, *args)
    assert done.returncode == 2, done.stderr
    assert data is None
    lines = heapscope_lines(done.stderr)
    assert len(lines) == 1 and message in lines[0], lines  # one line, and no cell ran
    assert "Traceback" not in done.stderr


def test_help_lists_exit_status_4(installed):
    done = subprocess.run([str(HEAPSCOPE), "report", "--help"], capture_output=True, text=True, timeout=60)
    text = " ".join(done.stdout.split())
    assert "--max-peak SIZE" in text and "--max-retained SIZE" in text
    assert "4 every cell ran but a cell went over its memory budget" in text


# --- the shared table (the extension's badge runs the same rows) --------------------------------

CASES = json.loads(
    (Path(__file__).resolve().parents[1] / "lab-extension" / "format" / "budget-cases.json").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_shared_budget_cases(case):
    defaults = dict(case["defaults"])
    if "error" in case:
        with pytest.raises(BudgetError) as err:
            resolve(budget_from_metadata(case["metadata"], "cell [0]"), defaults)
        assert case["error"] in str(err.value)
        return
    budget = resolve(budget_from_metadata(case["metadata"], "cell [0]"), defaults)
    report = {"cells": [dict(case["run"])], "retained_by_cell": case["retained_by_cell"]}
    budgets = notebook_budgets(
        [{"cell_type": "code", "metadata": case["metadata"]}], defaults
    )  # the same rule through the notebook's door
    assert budgets == ({} if case["budget"] is None else {0: budget})
    found = apply_budgets(report, {case["run"]["index"]: budget} if case["budget"] is not None else {})
    (cell,) = report["cells"]
    assert cell.get("budget") == case["budget"]
    assert cell.get("over_budget", []) == case["over_budget"]
    assert [v.line() for v in found] == case["lines"]
