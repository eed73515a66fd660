"""The shared cases of lab-extension/budget/match-cases.json through heapscope.diff: the extension's ghost
trace (lab-extension/budget/match.ts) matches cells by the same rules, running the same file."""

import json
from pathlib import Path

import pytest

from heapscope.diff import match_cells, percent, report_cells

CASES = json.loads((Path(__file__).parent.parent / "lab-extension" / "budget" / "match-cases.json").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES["match"], ids=[c["name"] for c in CASES["match"]])
def test_match(case):
    assert [list(row) for row in match_cells(case["before"], case["after"])] == case["rows"]


@pytest.mark.parametrize("case", CASES["report_cells"], ids=[c["name"] for c in CASES["report_cells"]])
def test_report_cells(case):
    cells = report_cells(case["report"])
    assert [{"cell_id": c.get("cell_id"), "index": c["index"], "seq": c.get("seq")} for c in cells] == case["cells"]


@pytest.mark.parametrize("before,after,expected", CASES["percent"])
def test_percent(before, after, expected):
    assert percent(before, after) == expected


def test_every_match_kind_is_covered():
    kinds = {row[0] for case in CASES["match"] for row in case["rows"]}
    assert kinds == {"same", "moved", "edited", "added", "deleted"}
