"""The pytest plugin (``pytest --heapscope``), run by pytester in a fresh pytest process on small notebooks
under the real heapscope kernel: passing, failing a budget (metadata and command line), failing a cell,
where the reports go, and with nbmake installed (each notebook collected once)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import nbformat
import pytest

from heapscope.agent.protocol import validate_report
from kernel_session import _SCRUBBED

pytest_plugins = ["pytester"]

MB = 1_000_000


@pytest.fixture
def tester(pytester, monkeypatch, installed):
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)
    return pytester


def notebook(folder: Path, name: str, cells: List[Tuple[str, Optional[Dict[str, Any]]]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "heapscope", "display_name": "Python 3 (heapscope)", "language": "python"}
    for source, budget in cells:
        cell = nbformat.v4.new_code_cell(source)
        if budget is not None:
            cell.metadata["heapscope"] = budget
        nb.cells.append(cell)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def read_report(path: Path) -> dict:
    data = json.loads(path.read_text())
    assert validate_report(data) is None, validate_report(data)
    return data


def run(tester, *args: str):
    return tester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)


def lines_of(result) -> List[str]:
    return result.stdout.lines + result.stderr.lines


def line_index(lines: List[str], start: str, end: str) -> int:
    """The first line that starts and ends so (the figures in between vary by a few kB)."""
    found = [n for n, line in enumerate(lines) if line.startswith(start) and line.endswith(end)]
    assert found, (start, end, lines)
    return found[0]


def test_notebooks_pass_and_fail_their_budgets(tester):
    notebook(tester.path, "ok.ipynb", [("a = bytearray(5_000_000)", {"max_peak": "50 MB"})])
    notebook(
        tester.path,
        "sub/over.ipynb",
        [("# load\nbig = bytearray(30_000_000)", {"max_peak": "10 MB"}), ("small = 1", {"max_peak": "1 MB"})],
    )
    result = run(tester, "--heapscope")
    result.assert_outcomes(passed=1, failed=1)
    lines = lines_of(result)
    at = line_index(lines, "cell [0] big = bytearray(30_000_000): peak +30", " MB > budget 10 MB")
    assert "heapscope: over.ipynb" in lines[at - 1]  # the failure's heading, then the CLI's line
    reports = tester.path / "heapscope-reports"
    assert lines[at + 1] == f"report: {reports / 'sub__over.html'} ({reports / 'sub__over.json'})"
    assert f"heapscope: reports in {reports}" in lines
    over = read_report(tester.path / "heapscope-reports" / "sub__over.json")
    assert [c["over_budget"] for c in over["cells"]] == [["max_peak"], []]
    ok = read_report(tester.path / "heapscope-reports" / "ok.json")
    assert ok["cells"][0]["budget"] == {"max_peak": 50 * MB, "max_retained": None}
    assert "<html" in (tester.path / "heapscope-reports" / "ok.html").read_text()[:200].lower()


def test_command_line_budgets_report_dir_and_junit(tester):
    notebook(tester.path, "kept.ipynb", [("kept = bytearray(20_000_000)", None), ("x = 1", {"max_retained": None})])
    result = run(tester, "--heapscope", "--heapscope-max-retained", "10MB", "--heapscope-report-dir", "out/reports")
    result.assert_outcomes(failed=1)
    line_index(lines_of(result), "cell [0] kept = bytearray(20_000_000): retained 20", " MB > budget 10 MB")
    data = read_report(tester.path / "out" / "reports" / "kept.json")
    assert [c.get("budget") for c in data["cells"]] == [{"max_peak": None, "max_retained": 10 * MB}, None]
    # the cell's metadata wins; the reports go beside --junitxml; the junit XML names them
    result = run(tester, "--heapscope", "--heapscope-max-retained", "30MB", "--junitxml", "ci/junit.xml")
    result.assert_outcomes(passed=1)
    assert (tester.path / "ci" / "kept.json").is_file() and (tester.path / "ci" / "kept.html").is_file()
    junit = (tester.path / "ci" / "junit.xml").read_text()
    assert 'name="heapscope_json"' in junit and str(tester.path / "ci" / "kept.json") in junit


def test_a_cell_that_raises_fails_and_bad_metadata_fails_before_running(tester):
    notebook(tester.path, "raises.ipynb", [("x = 1", None), ("1 / 0", None)])
    notebook(tester.path, "bad.ipynb", [("print('never runs')", {"max_peak": "a lot"})])
    result = run(tester, "--heapscope")
    result.assert_outcomes(failed=2)
    lines = lines_of(result)
    assert "cell 2/2 raised ZeroDivisionError: division by zero" in lines
    assert any(
        line.endswith(
            "bad.ipynb: cell [0] metadata heapscope.max_peak: not a size: 'a lot' (write e.g. 500 MB, 2GB, 1.5 GiB or a number of bytes)"
        )
        for line in lines
    ), lines
    assert not (tester.path / "heapscope-reports" / "bad.json").exists()
    assert (tester.path / "heapscope-reports" / "raises.json").is_file()


def test_without_the_option_notebooks_are_not_collected_and_bad_options_are_usage_errors(tester):
    notebook(tester.path, "nb.ipynb", [("x = 1", None)])
    result = run(tester, "-p", "no:nbmake")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result = run(tester, "--heapscope", "--heapscope-max-peak", "2 XB")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--heapscope-max-peak: not a size: '2 XB'*"])
    result = run(tester, "--heapscope", "--heapscope-timeout", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_with_nbmake_each_notebook_is_collected_once_and_run_by_heapscope(tester):
    pytest.importorskip("nbmake", reason="nbmake is in requirements-dev.txt")
    notebook(tester.path, "ok.ipynb", [("x = 1", None)])
    notebook(tester.path, "over.ipynb", [("big = bytearray(30_000_000)", {"max_peak": "10 MB"})])
    result = run(tester, "--nbmake", "--heapscope", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*collected 2 items*"])
    line_index(lines_of(result), "cell [0] big = bytearray(30_000_000): peak +30", " MB > budget 10 MB")
    # nbmake alone knows nothing of budgets: both notebooks pass
    result = run(tester, "--nbmake")
    result.assert_outcomes(passed=2)
