"""HEAPSCOPE_HISTORY_RUNS under the preloaded shim, in scripts on every CPython found (like
tests/test_engine_attribution.py): a session of many runs, each keeping one object alive as IPython's history
does, leaves the stack table's memory and its slots bounded by the window and the nodes that still hold
memory, not by the session's length; keys of reclaimed stacks never name another stack.

Build first: ``make -C shim lib bridges``.
"""

from __future__ import annotations

import pytest

from test_engine_attribution import ALL, _python, run_script

HISTORY = 10
RUNS = 600
NODE_BYTES = 64  # one stack node (shim/src/data/stacks.h)

SESSION = """
    _bridge.install(mode="exact")
    def _mk(k):
        def f():
            return [bytearray(100 + k) for _ in range(3)]
        return f
    funcs = [_mk(k) for k in range(20)]
    history = []  # what each run keeps alive (as IPython's In/Out do): its stack survives the window
    def keep(i):
        history.append(bytearray(50 + i % 7))
    stats = {}
    first_keys = []
    for i in range(1, int(sys.argv[1]) + 1):
        run = _bridge.cell_begin()
        r = [f() for f in funcs]
        keep(i)
        cell = _bridge.cell_end()
        if i == 1:
            first_run, first_keys = run, [sid for sid, b, c in cell["at_peak"]]
        if i in (2, 6, 100, int(sys.argv[1])):
            s = _bridge.stats()
            stats[i] = {k: s[k] for k in ("live_nodes", "stack_nodes", "stack_bytes")}
        del r
    OUT["stats"] = stats
    # the keys of run 1 (reclaimed long ago, their slots reused): they name no stack, or their own
    OUT["first_keys"] = len(first_keys)
    OUT["first_resolving_runs"] = []
    for sid in first_keys:
        try:
            OUT["first_resolving_runs"].append(_bridge.stack(sid)[0])
        except KeyError:
            pass
    OUT["first_run"] = first_run
    # every run's kept object still has its whole stack (the innermost frame is keep())
    OUT["kept_runs"] = len({r for sid, r, b, c in _bridge.alive() if _bridge.stack(sid)[1][0][1] == "keep"})
"""


@pytest.mark.parametrize("name", ALL)
def test_stack_table_memory_stops_growing_after_the_window(name, tmp_path, monkeypatch):
    monkeypatch.setenv("HEAPSCOPE_HISTORY_RUNS", str(HISTORY))
    out = run_script(_python(name), SESSION, tmp_path, str(RUNS))
    st = {int(k): v for k, v in out["stats"].items()}
    assert st[RUNS]["stack_bytes"] is not None, st
    # what one run makes while nothing is reclaimed yet (runs 3-6: the window is not full)
    per_run = (st[6]["live_nodes"] - st[2]["live_nodes"]) / 4
    assert per_run >= 10, st
    # after the window: the nodes that exist grow only by what the runs keep alive (a path each)
    grew = st[RUNS]["live_nodes"] - st[100]["live_nodes"]
    assert grew <= (RUNS - 100) * per_run / 2, st
    # slots: reclaimed ones are reused, so the slots handed out follow the nodes that exist (slack: the
    # nodes of one reclaim in quarantine, one run's and one page's worth); without reuse every run adds per_run
    slot_bound = st[100]["stack_nodes"] + 2 * grew + 2 * per_run + 64
    assert st[RUNS]["stack_nodes"] <= slot_bound, (st, slot_bound)
    assert (RUNS - 100) * per_run > 2 * (slot_bound - st[100]["stack_nodes"]), "the bound would not tell"
    # memory: node pages for the nodes kept (twice: pages they share with free slots), the index at most
    # doubling (4-byte slots, at most 70 % full) and one page; a 1 MiB chunk of slots more only if the
    # slots needed pass a chunk boundary (16,384 slots)
    index_bytes = 4 * 2 ** (int(st[RUNS]["live_nodes"] * 10 / 7) + 1).bit_length()
    chunks = st[RUNS]["stack_nodes"] // 16384 - st[100]["stack_nodes"] // 16384
    mem_bound = st[100]["stack_bytes"] + 2 * NODE_BYTES * grew + index_bytes + 4096 + chunks * (1 << 20)
    assert st[RUNS]["stack_bytes"] <= mem_bound, (st, mem_bound)
    # keys of reclaimed stacks name nothing, never another stack (a reused slot holds a later run's)
    assert out["first_keys"] >= 3, out
    assert len(out["first_resolving_runs"]) < out["first_keys"], out
    assert set(out["first_resolving_runs"]) <= {out["first_run"]}, out
    # what every run kept keeps its stack, whole
    assert out["kept_runs"] == RUNS, out
