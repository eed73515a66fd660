"""The pure parts of attribution, without a kernel: cell mapping with IPython's real compilers, site
building from rows shaped as ``heapscope._bridge`` returns them, protocol v1 additions, the report schema,
``heapscope run``'s argument handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from heapscope.agent import protocol
from heapscope.agent.cells import CellMap, RunOrigin, code_name
from heapscope.agent.ledger import Ledger, Stats
from heapscope.agent.sites import SiteResolver
from heapscope.cli import split_run_args
from heapscope.report import build_report

ROOT = Path(__file__).resolve().parents[1]


class Shell:
    """What ``code_name`` reads of an InteractiveShell: its compiler (a real one)."""

    def __init__(self, compiler):
        self.compile = compiler


def compiled(compiler, source: str, number: int):
    """Compile a cell as IPython's run_cell does; returns the module code object."""
    name = compiler.cache(source, number, raw_code=source)
    return compile(source, name, "exec")


# --- cell mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ["ipykernel", "ipython"])
def test_code_name_is_the_compiled_file_name(make):
    if make == "ipykernel":
        from ipykernel.compiler import XCachingCompiler as Compiler
    else:
        from IPython.core.compilerop import CachingCompiler as Compiler
    compiler = Compiler()
    source = "x = [1, 2, 3]\ny = len(x)\n"
    code = compiled(compiler, source, 7)
    assert code_name(Shell(compiler), source, source, 7) == code.co_filename
    if make == "ipykernel":  # identical sources share the name
        assert code_name(Shell(compiler), source, source, 8) == code.co_filename
    assert code_name(object(), source, source, 1) is None


def test_function_defined_in_one_cell_points_there_when_called_from_another():
    from ipykernel.compiler import XCachingCompiler

    compiler, cells = XCachingCompiler(), CellMap()
    sources = {
        1: "import numpy",
        2: "def make(n):\n    return bytearray(n)\n",
        3: "a = 1",
        4: "b = 2",
        5: "x = make(10)",
    }
    for run_id, source in sources.items():
        cells.record(
            RunOrigin(run_id, f"cell-{run_id}", run_id, run_id, code_name(Shell(compiler), source, source, run_id))
        )
    defining = compiled(compiler, sources[2], 2)
    run = cells.resolve(defining.co_filename, 5)  # called during cell 5's run_id
    assert run is not None and run.cell_id == "cell-2"
    calling = compiled(compiler, sources[5], 5)
    assert cells.resolve(calling.co_filename, 5).cell_id == "cell-5"
    assert cells.resolve(calling.co_filename, 4) is None  # cell 5 had not run yet
    assert cells.resolve("/usr/lib/python3/dist-packages/numpy/core/numeric.py", 5) is None


def test_reruns_and_identical_sources_map_to_the_run_current_at_the_allocation():
    cells = CellMap()
    # cell A run at run_ids 1, 3, 6; cell B (same source as A) at run_id 4; something else at 2 and 5.
    plan = [(1, "A"), (2, "C"), (3, "A"), (4, "B"), (5, "C"), (6, "A")]
    for run_id, cell in plan:
        name = "/tmp/ipykernel_1/same.py" if cell in "AB" else "/tmp/ipykernel_1/other.py"
        cells.record(RunOrigin(run_id, cell, run_id, run_id, name))
    expected = {1: "A", 2: "A", 3: "A", 4: "B", 5: "B", 6: "A", 99: "A"}
    for run_id, cell in expected.items():
        assert cells.resolve("/tmp/ipykernel_1/same.py", run_id).cell_id == cell, run_id
    assert cells.resolve("/tmp/ipykernel_1/same.py", 0) is None
    assert cells.origin_of_run(4).cell_id == "B" and cells.origin_of_run(99) is None


def test_many_reruns_stay_right_and_old_runs_are_forgotten():
    cells = CellMap(max_runs=1000)
    for run_id in range(1, 5001):
        cells.record(RunOrigin(run_id, f"c{run_id % 3}", run_id, run_id, f"/tmp/ipykernel_1/{run_id % 3}.py"))
    assert len(cells) == 1000
    for run_id in (4001, 4500, 5000):
        run = cells.resolve(f"/tmp/ipykernel_1/{run_id % 3}.py", run_id)
        assert run.run_id == run_id and run.cell_id == f"c{run_id % 3}"
    # An run_id whose own run was forgotten still resolves to no newer run than itself.
    assert cells.resolve("/tmp/ipykernel_1/0.py", 10) is None


def test_nested_run_keeps_the_enclosing_run():
    cells = CellMap()
    cells.record(RunOrigin(3, "outer", 3, 1, "/tmp/ipykernel_1/outer.py"))
    cells.record(RunOrigin(3, None, None, 2, "/tmp/ipykernel_1/inner.py"), owns_run=False)
    assert cells.origin_of_run(3).cell_id == "outer"
    assert cells.resolve("/tmp/ipykernel_1/inner.py", 3).seq == 2


# --- sites -----------------------------------------------------------------------------------------

CELL2 = "/tmp/ipykernel_9/222.py"
CELL5 = "/tmp/ipykernel_9/555.py"
PANDAS = "/venv/lib/python3.11/site-packages/pandas/core/frame.py"
IPY = "/venv/lib/python3.11/site-packages/IPython/core/interactiveshell.py"

# stack id -> (run_id, [(filename, function, line), ...]) innermost first, as heapscope._bridge.stack returns
STACKS = {
    1: (
        5,
        [
            (PANDAS, "DataFrame.__init__", 700),
            (CELL2, "make", 2),
            (CELL5, "<module>", 1),
            (IPY, "run_code", 3577),
            (IPY, "run_ast_nodes", 3517),
        ],
    ),
    2: (5, [(CELL5, "<module>", 3), (IPY, "run_code", 3577)]),
    3: (2, [(CELL2, "<module>", 4), (IPY, "run_code", 3577)]),
    4: (5, [("<native thread>", "<native thread>", 0)]),
    5: (0, [("/venv/lib/python3.11/site-packages/ipykernel/kernelapp.py", "start", 700)]),
    6: (6, [(CELL5, "<module>", 3), (IPY, "run_code", 3577)]),  # same frames as 2, next run_id
}


def resolver() -> SiteResolver:
    cells = CellMap()
    cells.record(RunOrigin(2, "cell-two", 2, 2, CELL2))
    cells.record(RunOrigin(5, "cell-five", 5, 5, CELL5))
    cells.record(RunOrigin(6, "cell-five", 6, 6, CELL5))
    return SiteResolver(lambda sid: STACKS[sid], cells)


def test_site_points_at_the_innermost_frame_and_the_innermost_cell_line():
    site = resolver().site(1, 4096, 2)
    assert (site["file"], site["line"], site["function"]) == (PANDAS, 700, "DataFrame.__init__")
    assert (site["cell_id"], site["cell_line"], site["execution_count"]) == ("cell-two", 2, 2)
    assert [f["file"] for f in site["stack"]] == [PANDAS, CELL2, CELL5]  # IPython's frames cut off
    assert site["stack"][2]["cell_id"] == "cell-five" and site["stack"][0]["cell_id"] is None
    assert protocol.validate_site(site) is None


def test_pseudo_and_non_cell_sites_have_null_cells():
    r = resolver()
    native = r.site(4, 100, 1)
    assert native["file"] == "<native thread>" and native["line"] is None and native["cell_id"] is None
    startup = r.site(5, 100, 1)
    assert startup["cell_line"] is None and len(startup["stack"]) == 1
    unknown = r.site(77, 1, 1)
    assert unknown["file"].startswith("<unknown stack") and protocol.validate_site(unknown) is None


def test_top_sites_rank_merge_and_limit():
    rows = [(2, 300, 3), (1, 1000, 1), (3, 50, 5), (6, 200, 2), (4, 0, 0), (5, -10, 1)]
    top = resolver().top_sites(rows, limit=2)
    assert [s["bytes"] for s in top] == [1000, 300]
    everything = resolver().top_sites(rows, limit=10)
    assert sum(s["bytes"] for s in everything) == 1000 + 300 + 50 + 200
    assert all(s["bytes"] > 0 for s in everything)  # net-zero or negative estimates hold nothing
    assert protocol.validate_sites(everything, "sites") is None


def test_retained_by_cell_groups_by_the_allocating_cell():
    live = [(1, 5, 1000, 1), (2, 5, 300, 3), (3, 2, 50, 5), (6, 6, 200, 2), (5, 0, 70, 7)]
    groups = resolver().retained_by_cell(live, limit=5)
    by_cell = {g["cell_id"]: g for g in groups}
    # stack 1 runs cell two's code but was allocated in cell five's run_id: it belongs to cell five.
    assert by_cell["cell-five"]["bytes"] == 1000 + 300 + 200 and by_cell["cell-five"]["seq"] == 6
    assert by_cell["cell-two"]["bytes"] == 50
    assert by_cell[None]["seq"] is None and by_cell[None]["bytes"] == 70
    assert [g["bytes"] for g in groups] == sorted((g["bytes"] for g in groups), reverse=True)
    assert protocol.validate_retained(groups) is None


# --- ledger with engine totals -----------------------------------------------------------------------


def test_ledger_takes_engine_totals_and_sites():
    ledger = Ledger()
    ledger.open_cell("k", "id", 1, "src", 1.0, Stats(100, 100, 10), 100, run_id=3)
    sites = resolver().top_sites([(2, 300, 3)])
    totals = {
        "start_bytes": 100,
        "peak_bytes": 900,
        "end_bytes": 400,
        "allocated_bytes": 1000,
        "freed_bytes": 700,
        "alloc_count": 12,
    }
    record = ledger.close_cell(
        "k", "ok", 2.0, Stats(400, 500, 1010), 1, totals, {"top_at_peak": sites, "retained": []}
    ).to_dict()
    assert (record["peak_bytes"], record["end_bytes"], record["allocated_bytes"], record["alloc_count"]) == (
        900,
        400,
        1000,
        12,
    )
    assert record["top_at_peak"] == sites and record["retained"] == []
    assert protocol.validate_outgoing(protocol.cell_message(record)) is None
    plain = Ledger()
    plain.open_cell("k", None, None, "", 1.0, Stats(1, 1), 1)
    assert "top_at_peak" not in plain.close_cell("k", "ok", 2.0, Stats(1, 1)).to_dict()


# --- protocol additions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "msg",
    [
        {"protocol": 2, "type": "configure", "mode": "exact"},
        {"protocol": 2, "type": "configure", "top_n": 50},
        {"protocol": 2, "type": "cell_detail", "seq": 3},
        {"protocol": 2, "type": "cell_detail", "seq": 3, "limit": 500},
        {"protocol": 2, "type": "retained_by_cell"},
    ],
)
def test_new_requests_validate(msg):
    assert protocol.validate_incoming(msg) is None


@pytest.mark.parametrize(
    "msg,problem",
    [
        ({"protocol": 2, "type": "configure", "mode": "fast"}, "mode"),
        ({"protocol": 2, "type": "configure", "top_n": 0}, "top_n"),
        ({"protocol": 2, "type": "cell_detail"}, "seq"),
        ({"protocol": 2, "type": "cell_detail", "seq": 1, "limit": 10**6}, "limit"),
        ({"protocol": 2, "type": "samples", "seq": 1, "samples": []}, "unknown message type"),
    ],
)
def test_new_requests_rejected(msg, problem):
    assert problem in protocol.validate_incoming(msg)


def test_new_answers_validate_and_bad_ones_do_not():
    site = resolver().site(2, 300, 3)
    good = [
        protocol.ticks_message(4, [(1.5, 10), (1.6, 20)]),
        protocol.cell_detail_message(4, None),
        protocol.retained_message(None),
        protocol.retained_message([{"cell_id": "a", "bytes": 300, "sites": [site]}]),
    ]
    for msg in good:
        assert protocol.validate_outgoing(msg) is None, msg
    bad = [
        ({**good[0], "ticks": [[1.5, -1]]}, "ticks"),
        ({**good[1], "cell": {"cell_id": None}}, "cell"),
        (protocol.retained_message([{"cell_id": "a", "bytes": 1, "sites": [{**site, "line": 0}]}]), "line"),
        (protocol.retained_message([{"cell_id": "a", "bytes": 1, "sites": [{**site, "stack": [{}]}]}]), "stack[0]"),
        (
            protocol.status_message(
                {
                    "active": True,
                    "reason": None,
                    "shim_version": "1",
                    "mode": "exact",
                    "pid": 1,
                    "python": "3",
                    "current_bytes": 0,
                    "profiler_bytes": 0,
                    "attribution": False,
                }
            ),
            "attribution_reason",
        ),
    ]
    for msg, problem in bad:
        assert problem in (protocol.validate_outgoing(msg) or ""), msg


# --- report ------------------------------------------------------------------------------------------


def test_report_with_sites_matches_the_schema():
    r = resolver()
    cell = {
        "seq": 1,
        "cell_id": "cell-five",
        "index": 3,
        "execution_count": 5,
        "source": "x",
        "start_bytes": 0,
        "peak_bytes": 2000,
        "end_bytes": 1500,
        "status": "ok",
        "started_at": 1.0,
        "ended_at": 2.0,
        "allocated_bytes": 2000,
        "alloc_count": 3,
        "top_at_peak": r.top_sites([(1, 1000, 1), (4, 5, 1)]),
        "retained": r.top_sites([(2, 300, 3)]),
    }
    status = {
        "active": True,
        "reason": None,
        "shim_version": "0.1.0",
        "mode": "exact",
        "pid": 1,
        "python": "3.11",
        "current_bytes": 5,
        "profiler_bytes": 0,
        "attribution": True,
        "attribution_reason": None,
        "pending_mode": None,
        "pending_mode_applies": None,
        "top_n": 20,
        "tick_hz": 20,
        "tracked_blocks": 3,
    }
    report = build_report(
        cells=[cell],
        target_kind="script",
        target_path="x.py",
        kernel_name=None,
        kernel_status=status,
        outcome="ok",
        version="0",
        retained_by_cell=r.retained_by_cell([(1, 5, 1000, 1)]),
    )
    assert protocol.validate_report(report) is None
    report["cells"][0]["top_at_peak"][0]["cell_line"] = 0
    assert "cell_line" in protocol.validate_report(report)


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["s.py", "a", "--json", "o.json"], ["--json", "o.json", "s.py", "a"]),
        (["--mode", "exact", "s.py", "--json=o.json"], ["--json=o.json", "--mode", "exact", "s.py"]),
        (["--json", "o.json", "s.py", "--json", "mine"], ["--json", "o.json", "s.py", "--json", "mine"]),
        (["s.py"], ["s.py"]),
    ],
)
def test_run_takes_a_trailing_json_option(argv, expected):
    assert split_run_args(argv) == expected
