"""The holders in the HTML report (issue 13): ``heapscope report --html`` on a real kernel puts the holders into
the page, their sites packed with the report's frame table, and the page's viewer draws a "Who holds the memory"
section (lab-extension/report/viewer.ts, the same page the extension exports)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from heapscope.html_report import PACKED_KEY, load_template, pack_report

MB = 1_000_000
FRAME = ("file", "line", "function", "cell_id", "cell_line", "execution_count")


def _unpack_sites(frames: list, sites: list) -> list:
    """What the viewer does (``unpackReport`` in lab-extension/report/html.ts)."""
    return [
        {**frames[s["@"]], **{k: v for k, v in s.items() if k != "@"}, "stack": [frames[i] for i in s["stack"]]}
        for s in sites
    ]


def _page_data(html: str) -> dict:
    start = html.index('id="heapscope-report-data">') + len('id="heapscope-report-data">')
    return json.loads(html[start : html.index("</script>", start)])


def test_pack_report_packs_the_holders_sites_and_leaves_the_rest() -> None:
    cell = dict(zip(FRAME, ("/tmp/ipykernel_1/1.py", 2, "<module>", "c1", 2, 1)))
    site = {**cell, "bytes": 80 * MB, "count": 1, "stack": [cell]}
    holders = {
        "holders": [
            {
                "name": "a",
                "kind": "variable",
                "type": "numpy.ndarray",
                "cell_id": "c1",
                "bytes": 112,
                "reachable_bytes": 80 * MB,
                "sites": [site],
            },
            {
                "name": "not reachable from your names",
                "kind": "other",
                "type": "",
                "cell_id": None,
                "bytes": 5,
                "reachable_bytes": 5,
                "sites": [],
            },
        ],
        "shared": [{"names": ["a", "v"], "bytes": 80 * MB}],
        "objects": 10,
    }
    report = {"cells": [], "retained_by_cell": None, "holders": holders}
    before = json.dumps(report, sort_keys=True)
    packed = pack_report(report)
    assert json.dumps(report, sort_keys=True) == before  # the report itself is not changed
    a = packed["holders"]["holders"][0]
    assert a["sites"] == [{"bytes": 80 * MB, "count": 1, "stack": [0], "@": 0}]
    assert packed[PACKED_KEY] == [cell]
    assert packed["holders"]["shared"] == holders["shared"] and packed["holders"]["objects"] == 10
    assert _unpack_sites(packed[PACKED_KEY], a["sites"]) == [site]
    # null (the scan could not run) and absent (--no-holders) pass through
    assert pack_report({"cells": [], "holders": None})["holders"] is None
    assert "holders" not in pack_report({"cells": []})


def test_template_viewer_draws_a_holders_section() -> None:
    # The viewer is compiled into the template: its section title and the table's class are in it.
    template = load_template()
    assert "Who holds the memory at the end" in template
    assert "jp-heapscope-HoldersTable" in template


def test_heapscope_report_html_has_the_holders(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\na = np.ones(10_000_000)\nv = a[::2]"),
        nbformat.v4.new_code_cell("np.zeros(6_000_000) + 1"),
    ]
    nb.metadata["kernelspec"] = {"name": "heapscope", "display_name": "Python 3 (heapscope)", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    html_path = tmp_path / "nb.heap.html"
    json_path = tmp_path / "nb.heap.json"
    heapscope = str(Path(sys.executable).with_name("heapscope"))
    subprocess.run(
        [heapscope, "report", str(path), "--html", str(html_path), "--json", str(json_path)], check=True, timeout=300
    )
    report = json.loads(json_path.read_text())
    data = _page_data(html_path.read_text(encoding="utf-8"))
    frames = data[PACKED_KEY]
    page = {h["name"]: h for h in data["holders"]["holders"]}
    truth = {h["name"]: h for h in report["holders"]["holders"]}
    assert set(page) == set(truth)
    # a and its view v share a's 80 MB buffer: in the shared groups, not in either one's bytes
    assert truth["a"]["reachable_bytes"] >= 80 * MB and truth["a"]["bytes"] < MB
    assert any(sorted(g["names"]) == ["a", "v"] and g["bytes"] >= 80 * MB for g in data["holders"]["shared"])
    assert truth["Out[2]"]["bytes"] >= 48 * MB
    # the page's sites are packed and unpack to the JSON report's
    for name, holder in truth.items():
        assert _unpack_sites(frames, page[name]["sites"]) == holder["sites"], name
    assert truth["a"]["sites"][0]["cell_id"] == nb.cells[0].id and truth["a"]["sites"][0]["cell_line"] == 2
