"""The engine's numbers under the preloaded shim, in scripts on every CPython found (like
tests/test_engine_attribution.py): Python objects in the allocation counts, deep stacks that keep their
cell, the agent's own allocations as profiler memory, and rejected settings.

Build first: ``make -C shim lib bridges``.
"""

from __future__ import annotations

import pytest

from test_engine_attribution import ALL, _python, _run_marked, run_script

COUNTS = """
    _bridge.install(mode=sys.argv[1])
    _bridge.cell_begin()
    objs = [(i, i + 1) for i in range(300_000)]  # 300 k tuples: pymalloc blocks, no libc call each
    cell = _bridge.cell_end()
    OUT["alloc_count"] = cell["alloc_count"]
    _bridge.cell_begin()
    del objs
    cell = _bridge.cell_end()
    OUT["free_count"] = cell["free_count"]
"""


@pytest.mark.parametrize("mode", ["exact", "default"])
@pytest.mark.parametrize("name", ALL)
def test_alloc_and_free_counts_include_python_objects(name, mode, tmp_path):
    out = run_script(_python(name), COUNTS, tmp_path, mode)
    # 300 k tuples (+ the ints above the small-int cache): each one allocation, then one free
    assert out["alloc_count"] >= 300_000, out
    assert out["free_count"] >= 300_000, out


DEEP = """
    _bridge.install(mode=sys.argv[1], max_depth=16)
    here = __file__
    def down(n):
        if n == 0:
            return bytearray(30_000_000)  # L:leaf
        return down(n - 1)  # L:recurse
    keep = down(100)  # L:call
    again = down(100)  # L:again
    for sid, run, nbytes, count in _bridge.alive():
        if nbytes >= 29_000_000:
            frames = _bridge.stack(sid)[1]
            OUT["again" if frames[-1][2] == L_again else "frames"] = frames
    shallow = down(3)  # L:shallow
    for sid, run, nbytes, count in _bridge.alive():
        frames = _bridge.stack(sid)[1]
        if nbytes >= 29_000_000 and any(f[2] == L_shallow for f in frames):
            OUT["shallow"] = frames
"""


@pytest.mark.parametrize("mode", ["exact", "default"])
@pytest.mark.parametrize("name", ALL)
def test_a_stack_deeper_than_max_depth_keeps_its_outermost_frame(name, mode, tmp_path):
    out = _run_marked(_python(name), DEEP, tmp_path, mode)
    script, marks = out["_script"], out["_marks"]
    frames = [tuple(f) for f in out["frames"]]
    assert len(frames) == 16, frames
    assert frames[0][0] == script and frames[0][2] == marks["leaf"], frames
    assert all(f[2] == marks["recurse"] for f in frames[1:14]), frames
    assert frames[14] == ("<frames omitted>", "<frames omitted>", 0), frames
    # a script run as `python script.py` has no cell anchor on its chain: the outermost frame is kept
    assert frames[15] == (script, "<module>", marks["call"]), frames
    # the same recursion from the next line: same inner frames, its own cell line (not a stale one)
    again = [tuple(f) for f in out["again"]]
    assert again[:15] == frames[:15] and again[15] == (script, "<module>", marks["again"]), again
    # a stack that fits is complete and has no gap
    shallow = [tuple(f) for f in out["shallow"]]
    assert shallow[-1] == (script, "<module>", marks["shallow"]), shallow
    assert all(f[0] != "<frames omitted>" for f in shallow), shallow


AGENT = """
    _bridge.install(mode=sys.argv[1])
    import gc
    gc.disable()
    s0 = _bridge.stats()
    _bridge.agent_begin()
    mine = [{"k": i, "v": str(i)} for i in range(200_000)]  # the agent's own structures
    big = bytearray(20_000_000)
    _bridge.agent_end()
    s1 = _bridge.stats()
    OUT["heap_growth"] = s1["current_bytes"] - s0["current_bytes"]
    OUT["agent_bytes"] = s1["agent_bytes"] - s0["agent_bytes"]
    OUT["profiler_growth"] = s1["profiler_bytes"] - s0["profiler_bytes"]
    user = [{"k": i, "v": str(i)} for i in range(200_000)]  # the same, as the program's
    s2 = _bridge.stats()
    OUT["user_growth"] = s2["current_bytes"] - s1["current_bytes"]
    del mine, big
    s3 = _bridge.stats()
    OUT["agent_after_free"] = s3["agent_bytes"] - s0["agent_bytes"]
"""


@pytest.mark.parametrize("mode", ["exact", "default"])
@pytest.mark.parametrize("name", ALL)
def test_the_agents_allocations_are_profiler_memory(name, mode, tmp_path):
    out = run_script(_python(name), AGENT, tmp_path, mode)
    user = out["user_growth"]  # what the same structures cost as the program's heap
    assert user > 30_000_000, out
    # the agent's copy: its objects and the bytearray are profiler memory; only pymalloc's arenas they
    # sit in stay in the heap (arena bytes, minus the agent's blocks in them)
    assert out["heap_growth"] < 0.25 * user, out
    assert out["agent_bytes"] >= 0.6 * user + 20_000_000, out
    assert out["profiler_growth"] >= out["agent_bytes"], out
    assert out["agent_after_free"] <= 100_000, out


def test_bad_settings_are_rejected_with_a_message(tmp_path):
    body = """
    OUT["errors"] = _bridge.settings_errors()
    OUT["settings"] = _bridge.settings()
    _bridge.install(mode="default")
    st = _bridge.stats()
    OUT["stats"] = {k: st[k] for k in ("sample_interval", "exact_threshold", "max_depth")}
    try:
        _bridge.install(mode="default", exact_threshold=-1)
    except ValueError as exc:
        OUT["install_error"] = str(exc)
    """
    import os

    env = {"HEAPSCOPE_SAMPLE_INTERVAL": "-1", "HEAPSCOPE_EXACT_THRESHOLD": "-1", "HEAPSCOPE_MAX_DEPTH": "64k"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        out = run_script(_python(ALL[0]) if ALL else pytest.skip("no Python"), body, tmp_path)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert out["stats"] == {"sample_interval": 65536, "exact_threshold": 65536, "max_depth": 32}, out
    errors = out["errors"]
    assert len(errors) == 3, errors
    assert "HEAPSCOPE_SAMPLE_INTERVAL='-1' is not an integer in 1..1073741824; using 65536" in errors, errors
    assert any(e.startswith("HEAPSCOPE_EXACT_THRESHOLD='-1'") for e in errors), errors
    assert any(e.startswith("HEAPSCOPE_MAX_DEPTH='64k'") for e in errors), errors
    assert "exact_threshold must be in" in out["install_error"], out
