"""``heapscope diff``: the matching and figures of heapscope.diff on synthetic reports, its output against
protocol/diff.schema.json, and the command on reports of notebooks run twice with a real kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import nbformat
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from heapscope.diff import diff_reports, match_cells, report_cells, site_changes
from heapscope.diff_html import render_diff_html
from kernel_session import scrubbed_environ

ROOT = Path(__file__).resolve().parents[1]
HEAPSCOPE = Path(sys.executable).with_name("heapscope")
MB = 1_000_000


def diff_validator() -> Draft202012Validator:
    schemas = [json.loads(p.read_text(encoding="utf-8")) for p in (ROOT / "protocol").glob("*.schema.json")]
    registry = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in schemas])
    diff = next(s for s in schemas if s["$id"].endswith("/diff.schema.json"))
    Draft202012Validator.check_schema(diff)
    return Draft202012Validator(diff, registry=registry)


VALIDATOR = diff_validator()


def assert_valid(doc: Dict[str, Any]) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(doc)]
    assert errors == []


def site(bytes_: int, cell_id: Optional[str] = None, cell_line: Optional[int] = None, where=("f.py", 1, "f")):
    file, line, function = where
    return {
        "file": file,
        "line": line,
        "function": function,
        "cell_id": cell_id,
        "cell_line": cell_line,
        "bytes": bytes_,
        "count": 1,
        "stack": [],
    }


def cell(cell_id, index, source, peak=0, end=0, start=1000, seq=None, sites=None):
    return {
        "seq": seq if seq is not None else index + 1,
        "cell_id": cell_id,
        "execution_count": index + 1,
        "source": source,
        "start_bytes": start,
        "peak_bytes": start + max(peak, end, 0),
        "end_bytes": start + end,
        "status": "ok",
        "started_at": 1.0,
        "ended_at": 2.0,
        "index": index,
        **({"top_at_peak": sites} if sites is not None else {}),
    }


def report(cells: List[dict], retained: Optional[list] = None, kind: str = "notebook") -> Dict[str, Any]:
    return {
        "target": {"kind": kind, "path": "nb.ipynb"},
        "created_at": 5.0,
        "cells": cells,
        "retained_by_cell": retained,
    }


# --- matching -------------------------------------------------------------------------------------


def test_cells_matched_by_id_then_source_then_position():
    before = report_cells(
        report(
            [
                cell("a", 0, "x = 1"),
                cell("b", 1, "y = 2"),
                cell("c", 2, "z = 3"),
                cell("d", 3, "w = 4"),
                cell("e", 4, "v = 5"),
            ]
        )
    )
    after = report_cells(
        report(
            [
                cell("b", 0, "y = 2"),  # b moved up
                cell("a", 1, "x = 1  # edited"),  # a edited (and moved: edited wins)
                cell("n", 2, "new = 1"),  # added
                cell("c2", 3, " z = 3\n"),  # c's id rewritten: matched by source, moved
                cell("f", 4, "v = 6"),  # e's place, other id and source: edited
            ]
        )
    )
    rows = [
        (m, None if i is None else before[i]["cell_id"], None if j is None else after[j]["cell_id"])
        for m, i, j in match_cells(before, after)
    ]
    assert rows == [
        ("moved", "b", "b"),
        ("edited", "a", "a"),
        ("added", None, "n"),
        ("moved", "c", "c2"),
        ("deleted", "d", None),  # after the row of c, the cell before it in BEFORE
        ("edited", "e", "f"),
    ]


def test_same_cells_and_a_deleted_first_cell():
    before = report_cells(report([cell("a", 0, "a = 1"), cell("b", 1, "b = 1"), cell("c", 2, "c = 1")]))
    after = report_cells(report([cell("b", 0, "b = 1"), cell("c", 1, "c = 1")]))
    assert [m for m, _, _ in match_cells(before, after)] == ["deleted", "moved", "moved"]
    same = report_cells(report([cell("a", 0, "a = 1")]))
    assert match_cells(same, same) == [("same", 0, 0)]
    assert match_cells(same, []) == [("deleted", 0, None)]
    assert match_cells([], same) == [("added", None, 0)]


def test_a_cell_run_twice_counts_with_its_last_run_and_other_code_is_left_out():
    data = report(
        [
            cell("a", 0, "a = 1", peak=10, seq=1),
            {**cell(None, 0, "print()", seq=2), "index": None},  # no notebook cell
            cell("a", 0, "a = 1", peak=30, seq=3),
        ]
    )
    (only,) = report_cells(data)
    assert only["seq"] == 3
    # a script's report: its run is the cell
    script = report([{**cell(None, 0, "import x"), "index": None}], kind="script")
    assert [c["index"] for c in report_cells(script)] == [0]


# --- figures, sites, failing ----------------------------------------------------------------------


def test_figures_and_deltas_per_cell():
    retained_before = [{"cell_id": "a", "execution_count": 1, "seq": 1, "bytes": 5 * MB, "sites": []}]
    retained_after = [{"cell_id": "a", "execution_count": 1, "seq": 1, "bytes": 8 * MB, "sites": []}]
    before = report([cell("a", 0, "a = f()", peak=20 * MB, end=5 * MB)], retained_before)
    after = report([cell("a", 0, "a = f()", peak=30 * MB, end=8 * MB)], retained_after)
    doc = diff_reports(before, after, before_path="b.json", after_path="a.json")
    assert_valid(doc)
    (row,) = doc["cells"]
    assert row["match"] == "same" and row["before_cell_id"] == row["after_cell_id"] == "a"
    assert row["before"]["peak_bytes"] == 20 * MB and row["after"]["peak_bytes"] == 30 * MB
    assert row["delta_peak_bytes"] == 10 * MB and row["peak_change_percent"] == 50.0
    assert row["delta_end_bytes"] == 3 * MB and row["delta_retained_bytes"] == 3 * MB
    assert row["before"]["retained_bytes"] == 5 * MB and row["after"]["retained_bytes"] == 8 * MB
    assert row["failed"] is False  # no --fail-over
    assert doc["before"] == {"path": "b.json", "target": "nb.ipynb", "created_at": 5.0}


@pytest.mark.parametrize(
    "before_peak, after_peak, fail_over, fail_min, failed",
    [
        (20 * MB, 30 * MB, 10, MB, True),  # +50 %
        (20 * MB, 21 * MB, 10, MB, False),  # +5 %
        (20 * MB, 22 * MB + 1, 10, MB, True),  # just over 10 %
        (20 * MB, 22 * MB, 10, MB, False),  # exactly 10 %: not more than
        (10_000, 40_000, 10, MB, False),  # +300 %, but only 30 kB: under --fail-min
        (10_000, 40_000, 10, 0, True),
        (0, 5 * MB, 10, MB, True),  # from nothing to 5 MB: no percentage, but it grew
        (30 * MB, 10 * MB, 0, MB, False),  # shrank
    ],
)
def test_fail_over(before_peak, after_peak, fail_over, fail_min, failed):
    before = report([cell("a", 0, "a = f()", peak=before_peak)])
    after = report([cell("a", 0, "a = f()", peak=after_peak), cell("n", 1, "n = g()", peak=900 * MB)])
    doc = diff_reports(before, after, fail_over=fail_over, fail_min=fail_min)
    assert_valid(doc)
    matched, added = doc["cells"]
    assert matched["failed"] is failed
    assert added["match"] == "added" and added["failed"] is False  # listed, never failed
    assert added["delta_peak_bytes"] is None and added["before"] is None


def test_site_changes_by_cell_line_or_file_line_function():
    before = cell(
        "a",
        0,
        "import numpy as np\nx = np.ones(10)\ny = 1",
        sites=[
            site(10 * MB, "a", 2, ("numeric.py", 232, "ones")),
            site(2 * MB, "a", 2, ("other.py", 1, "g")),  # the same cell line: summed
            site(3 * MB, None, None, ("lib.py", 9, "load")),
            site(1 * MB, "a", 3),  # unchanged: left out
        ],
    )
    after = cell(
        "a",
        0,
        "import numpy as np\nx = np.ones(20)\ny = 1",
        sites=[site(24 * MB, "a", 2, ("numeric.py", 232, "ones")), site(1 * MB, "a", 3), site(5 * MB, "z", 4)],
    )
    rows = site_changes(before, after)
    assert [(r["key"], r["before_bytes"], r["after_bytes"], r["delta_bytes"]) for r in rows] == [
        ("cell line 2", 12 * MB, 24 * MB, 12 * MB),
        ("f.py:1:f", 0, 5 * MB, 5 * MB),  # another cell's line: keyed by its site
        ("lib.py:9:load", 3 * MB, 0, -3 * MB),
    ]
    assert rows[0]["text"] == "x = np.ones(20)" and rows[0]["cell_line"] == 2
    assert rows[2]["text"] is None
    assert site_changes(None, after)[0]["before_bytes"] == 0
    assert (
        len(site_changes(None, cell("a", 0, "", sites=[site(i + 1, where=(f"{i}.py", 1, "f")) for i in range(30)])))
        == 10
    )


def test_html_escapes_every_text_and_runs_no_script():
    evil = "x = '<script>alert(1)</script>' & \"q\""
    before = report([cell("a", 0, evil, peak=10 * MB, sites=[site(MB, "a", 1)])])
    after = report([cell("a", 0, evil, peak=20 * MB, sites=[site(3 * MB, "a", 1)])])
    doc = diff_reports(before, after, fail_over=10, before_path="<b>.json", after_path="a.json")
    page = render_diff_html(doc)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;.json" in page
    assert "default-src 'none'" in page and "script-src" not in page
    assert 'class="failed"' in page and "+10 MB (+100.0 %)" in page


# --- the command with real kernels ---------------------------------------------------------------


def run_report(path: Path, out: Path) -> dict:
    done = subprocess.run(
        [str(HEAPSCOPE), "report", str(path), "--json", str(out)],
        env=scrubbed_environ(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def heapscope_diff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(HEAPSCOPE), "diff", *args], capture_output=True, text=True, timeout=120)


def test_diff_of_a_notebook_run_twice(installed, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "heapscope", "display_name": "Python 3 (heapscope)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("a = bytearray(20_000_000)"),
        nbformat.v4.new_code_cell("b = bytearray(30_000_000)"),
        nbformat.v4.new_code_cell("c = bytearray(5_000_000)"),
        nbformat.v4.new_code_cell("d = bytearray(10_000_000)"),
    ]
    before_nb = tmp_path / "before.ipynb"
    nbformat.write(nb, str(before_nb))
    ids = [c.id for c in nb.cells]
    # after: b grows to 60 MB (edited), d moves first, c is deleted, e is added
    a, b, _, d = nb.cells
    b.source = "b = bytearray(60_000_000)"
    nb.cells = [d, a, b, nbformat.v4.new_code_cell("e = bytearray(40_000_000)")]
    after_nb = tmp_path / "after.ipynb"
    nbformat.write(nb, str(after_nb))
    before = tmp_path / "before.json"
    after = tmp_path / "after.json"
    run_report(before_nb, before)
    run_report(after_nb, after)

    out_json, out_html = tmp_path / "diff.json", tmp_path / "diff.html"
    done = heapscope_diff(
        str(before), str(after), "--json", str(out_json), "--html", str(out_html), "--fail-over", "10"
    )
    assert done.returncode == 4, done.stderr
    assert "heapscope: 1 cell grew by more than 10 %" in done.stderr
    doc = json.loads(out_json.read_text())
    assert_valid(doc)
    rows = [(r["match"], r["before_cell_id"], r["after_cell_id"]) for r in doc["cells"]]
    assert rows == [
        ("moved", ids[3], ids[3]),
        ("moved", ids[0], ids[0]),
        ("edited", ids[1], ids[1]),
        ("deleted", ids[2], None),
        ("added", None, rows[-1][2]),
    ]
    by_match = {r["match"]: r for r in doc["cells"]}
    edited = by_match["edited"]
    assert edited["failed"] is True
    assert abs(edited["delta_peak_bytes"] - 30 * MB) < MB, edited
    assert 90 < edited["peak_change_percent"] < 110, edited
    assert abs(edited["delta_retained_bytes"] - 30 * MB) < MB, edited
    assert edited["sites"][0]["key"] == "cell line 1" and edited["sites"][0]["text"] == "b = bytearray(60_000_000)"
    assert abs(edited["sites"][0]["delta_bytes"] - 30 * MB) < MB
    assert all(not r["failed"] for r in doc["cells"] if r is not edited)
    assert by_match["added"]["after"]["peak_bytes"] > 39 * MB and by_match["added"]["failed"] is False
    # the printed lines
    out = done.stdout.splitlines()
    assert any(line.startswith("cell [2] b = bytearray(60_000_000) [edited]: peak +30 MB → +60 MB") for line in out), (
        out
    )
    assert any(line.startswith("cell [0→1] a = bytearray(20_000_000) [moved]") for line in out), out
    assert any("[added]" in line for line in out) and any("[deleted]" in line for line in out)
    page = out_html.read_text()
    assert "b = bytearray(60_000_000)" in page and "edited · failed" in page
    # the same reports the other way round: nothing grew
    done = heapscope_diff(str(after), str(before), "--fail-over", "10")
    assert done.returncode == 0, done.stderr
    # a report compared with itself: every cell the same, no change
    done = heapscope_diff(str(before), str(before), "--json", str(out_json), "--fail-over", "0")
    assert done.returncode == 0, done.stderr
    doc = json.loads(out_json.read_text())
    assert [r["match"] for r in doc["cells"]] == ["same"] * 4
    assert all(r["delta_peak_bytes"] == 0 and r["sites"] == [] for r in doc["cells"])


def test_bad_input_is_exit_2(installed, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "heapscope_report": 2,
                "generator": {"name": "heapscope", "version": "0"},
                "target": {"kind": "notebook", "path": None},
                "kernel": {"name": None, "status": None},
                "outcome": {"status": "ok", "message": None, "failed_cell": None},
                "cells": [],
            }
        )
    )
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    other = tmp_path / "y.json"
    other.write_text('{"cells": []}')
    invalid = tmp_path / "z.json"
    invalid.write_text('{"heapscope_report": 2, "cells": "no"}')
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**json.loads(good.read_text()), "heapscope_report": 1}))
    cases = [
        ([str(good), str(old)], f"cannot read {old}: a version 1 report; this heapscope reads version 2"),
        ([str(not_json), str(good)], f"cannot read {not_json}: not JSON"),
        ([str(good), str(other)], f"cannot read {other}: not a heapscope report"),
        ([str(good), str(invalid)], f"cannot read {invalid}: not a valid heapscope report"),
        ([str(good), str(tmp_path / "missing.json")], "No such file"),
        ([str(good), str(good), "--fail-min", "lots"], "--fail-min: not a size: 'lots'"),
        ([str(good), str(good), "--fail-over", "-5"], "--fail-over must be a percentage"),
        ([str(good), str(good), "--json", str(tmp_path / "no" / "d.json")], "does not exist"),
        ([str(good), str(good), "--json", str(tmp_path / "d"), "--html", str(tmp_path / "d")], "name the same file"),
    ]
    for args, message in cases:
        done = heapscope_diff(*args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, lines)
    assert heapscope_diff(str(good), str(good)).returncode == 0
