"""The HTML report's size and header with the installed page template (issue 11, "Export"): at most
1.5 MB for 12 cells and 5 MB for 300 cells, stacks packed once per distinct frame, the package's
version in the page. The reports are shaped like real ones: import cells with 200 sites per list
and deep stacks from a pool of 250 frames (a real 12-cell notebook importing numpy and pandas had
209 distinct frames), 100 retained-by-cell entries."""

from __future__ import annotations

import json
import random
import re

import heapscope
from heapscope.html_report import PACKED_KEY, load_template, pack_report, render_html


def _frame(i: int) -> dict:
    file = (
        "<frozen importlib._bootstrap_external>"
        if i % 3 == 0
        else f"/home/user/project/.venv/lib/python3.11/site-packages/pandas/core/module_{i % 97}.py"
    )
    return {
        "file": file,
        "line": 10 + i,
        "function": f"function_{i}",
        "cell_id": None,
        "cell_line": None,
        "execution_count": None,
    }


def _sites(n: int, run: int, rng: random.Random) -> list:
    cell = {
        "file": f"/tmp/ipykernel_1/{run}.py",
        "line": 1,
        "function": "<module>",
        "cell_id": f"cell-{run}",
        "cell_line": 1,
        "execution_count": run,
    }
    out = []
    for i in range(n):
        stack = [_frame(rng.randrange(250)) for _ in range(5 + rng.randrange(30))] + [cell]
        out.append(
            {
                **stack[0],
                "cell_id": cell["cell_id"],
                "cell_line": 1,
                "execution_count": run,
                "bytes": 1000 * (n - i),
                "count": 3,
                "stack": stack,
            }
        )
    return out


def _report(cells: int) -> dict:
    rng = random.Random(cells)
    runs = []
    for i in range(cells):
        many = i % 20 == 1
        runs.append(
            {
                "cell_id": f"cell-{i}",
                "seq": i,
                "execution_count": i,
                "index": i,
                "source": "import pandas as pd" if many else f"data_{i} = [x * 2 for x in range({i} * 1000)]",
                "status": "ok",
                "start_bytes": 1000,
                "peak_bytes": 6000,
                "end_bytes": 3000,
                "top_at_peak": _sites(200 if many else 10, i, rng),
                "retained": _sites(200 if many else 5, i, rng),
            }
        )
    retained = [
        {
            "cell_id": r["cell_id"],
            "execution_count": r["execution_count"],
            "seq": r["seq"],
            "bytes": 1000,
            "count": 10,
            "sites": _sites(20, r["execution_count"], rng),
        }
        for r in runs[:100]
    ]
    return {
        "heapscope_report": 2,
        "generator": {"name": "heapscope", "version": heapscope.__version__},
        "target": {"kind": "notebook", "path": "analysis.ipynb"},
        "kernel": {"name": "heapscope", "status": None},
        "outcome": {"status": "ok", "message": None, "failed_cell": None},
        "cells": runs,
        "retained_by_cell": retained,
    }


def _unpack(data: dict) -> dict:
    """What the viewer does (``unpackReport`` in lab-extension/report/html.ts)."""
    frames = data.pop(PACKED_KEY)

    def sites(items: list) -> list:
        return [{**frames[s.pop("@")], **s, "stack": [frames[i] for i in s["stack"]]} for s in items]

    for cell in data["cells"]:
        for key in ("top_at_peak", "retained"):
            if key in cell:
                cell[key] = sites(cell[key])
    for entry in data["retained_by_cell"]:
        entry["sites"] = sites(entry["sites"])
    return data


def _page_data(html: str) -> dict:
    start = html.index('id="heapscope-report-data">') + len('id="heapscope-report-data">')
    return json.loads(html[start : html.index("</script>", start)])


def test_html_report_size_bounds() -> None:
    template = load_template()
    small = render_html(_report(12), template)
    large = render_html(_report(300), template)
    assert len(small.encode("utf-8")) <= 1_500_000
    assert len(large.encode("utf-8")) <= 5_000_000


def test_html_report_holds_the_report_packed_and_names_the_version() -> None:
    template = load_template()
    assert f'<meta name="generator" content="heapscope {heapscope.__version__}">' in template
    report = _report(21)
    before = json.dumps(report, sort_keys=True)
    html = render_html(report, template)
    assert json.dumps(report, sort_keys=True) == before
    data = _page_data(html)
    assert len(data[PACKED_KEY]) < sum(len(s["stack"]) for c in report["cells"] for s in c["top_at_peak"])
    assert json.dumps(_unpack(data), sort_keys=True) == before


def test_pack_report_keeps_sites_it_cannot_pack_as_they_are() -> None:
    odd = {"file": "x", "stack": [1]}
    frame = {f: None for f in ("file", "line", "function", "cell_id", "cell_line", "execution_count")}
    full = {**frame, "bytes": 1, "count": 1, "stack": [frame, frame]}
    packed = pack_report({"cells": [{"top_at_peak": [odd, full]}], "retained_by_cell": None})
    assert packed["cells"][0]["top_at_peak"] == [odd, {"bytes": 1, "count": 1, "stack": [0, 0], "@": 0}]
    assert packed[PACKED_KEY] == [frame]
    assert re.match(r"^\d+\.\d+", heapscope.__version__)
