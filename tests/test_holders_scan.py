"""The holders scan (agent/holders.py) on a real IPython shell in this process: read-only guarantees (no user
code runs, nothing referenced after the scan), what counts as held from outside, shared groups, object arrays.
The numbers against the shim's truth are in tests/test_holders.py (real kernels)."""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from heapscope.agent import holders

MB = 1_000_000


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    sh.reset(new_session=False)
    yield sh
    sh.reset(new_session=False)
    for a in ("last_traceback", "last_value", "last_type", "last_exc"):
        if hasattr(sys, a):
            delattr(sys, a)


def run(sh, code: str) -> None:
    sh.run_cell(code, store_history=True)


def by_name(result):
    return {h["name"]: h for h in result["holders"]}


def test_no_user_code_runs_and_nothing_changes(shell):
    run(
        shell,
        """
import numpy as np
calls = []
class Sneaky:
    def __init__(self):
        self.payload = bytearray(5_000_000)
    def __sizeof__(self):
        calls.append('sizeof'); return 10**12
    def __getattr__(self, name):
        calls.append(name); raise AttributeError(name)
    @property
    def __class__(self):
        calls.append('__class__'); return int
    def __del__(self):
        try:
            calls.append('del')
        except NameError:  # (at the fixture's reset)
            pass
class Arr(np.ndarray):
    @property
    def base(self):
        calls.append('base'); return None
s = Sneaky()
a = np.ones(1_000_000).view(Arr)[::2]
many = [Sneaky() for _ in range(3)]
""",
    )
    ns = shell.user_ns
    names = ("s", "a", "many", "calls")
    before = {n: (id(ns[n]), sys.getrefcount(ns[n])) for n in names}
    keys = sorted(ns)
    result = holders.scan(shell)
    assert ns["calls"] == []
    assert {n: (id(ns[n]), sys.getrefcount(ns[n])) for n in names} == before
    assert sorted(ns) == keys
    h = by_name(result)
    assert 5 * MB <= h["s"]["bytes"] < 6 * MB  # the payload, and not the 10**12 the Python __sizeof__ says
    assert h["many"]["bytes"] >= 15 * MB
    # the view's base is reached through numpy's own getter, not the subclass property
    assert h["a"]["bytes"] >= 8 * MB
    assert "Sneaky" not in h and "Arr" not in h and "np" not in h  # classes and modules hold nothing


def test_held_from_outside_counts_for_nothing(shell):
    run(
        shell,
        """
import sys, numpy as np
mine = np.ones(2_000_000)
also_module = np.ones(3_000_000)
sys.modules['holders_test_cache'] = type(sys)('holders_test_cache')
sys.modules['holders_test_cache'].keep = also_module
""",
    )
    try:
        h = by_name(holders.scan(shell))
        assert h["mine"]["bytes"] >= 16 * MB
        assert h["also_module"]["bytes"] < 1000 and h["also_module"]["reachable_bytes"] == 0
    finally:
        del sys.modules["holders_test_cache"]


def test_shared_by_three_names_is_one_group(shell):
    run(
        shell,
        """
import numpy as np
big = np.ones(4_000_000)
a = [big]
b = {'k': big}
c = (big, 1)
""",
    )
    result = holders.scan(shell)
    h = by_name(result)
    group = [g for g in result["shared"] if set(g["names"]) == {"big", "a", "b", "c"}]
    assert len(group) == 1 and group[0]["bytes"] >= 32 * MB
    assert all(h[n]["bytes"] < 1000 for n in "abc")
    assert all(h[n]["reachable_bytes"] >= 32 * MB for n in ("big", "a", "b", "c"))


def test_object_array_reaches_its_elements(shell):
    run(
        shell,
        """
import numpy as np
objs = np.empty(3, dtype=object)
objs[:] = [bytearray(1_000_000), bytearray(2_000_000), 'x']
""",
    )
    h = by_name(holders.scan(shell))
    assert h["objs"]["bytes"] >= 3 * MB


def test_outputs_group_their_aliases_and_release_drops_them(shell):
    run(shell, "import numpy as np")
    first = shell.execution_count
    run(shell, "np.ones(1_000_000)")  # Out[first], also _ and _<first>
    run(shell, "np.ones(2_000_000)")  # Out[first + 1], also _; Out[first] is now __
    one, two = f"Out[{first}]", f"Out[{first + 1}]"
    h = by_name(holders.scan(shell))
    assert h[one]["bytes"] >= 8 * MB and h[two]["bytes"] >= 16 * MB
    assert "_" not in h and f"_{first}" not in h and "__" not in h
    assert holders.release(shell, two) is True
    ns = shell.user_ns
    assert first + 1 not in ns["Out"] and f"_{first + 1}" not in ns and not isinstance(ns["_"], np.ndarray)
    gc.collect()
    assert two not in by_name(holders.scan(shell))
    assert holders.release(shell, "Out[99]") is False


def test_the_last_traceback_is_one_holder(shell):
    run(
        shell,
        """
def fails():
    local = bytearray(7_000_000)
    raise KeyError('x')
fails()
""",
    )
    h = by_name(holders.scan(shell))
    tb = h["last traceback"]
    assert tb["kind"] == "traceback" and tb["bytes"] >= 7 * MB
    assert holders.release(shell, "last traceback") is True
    assert "last traceback" not in by_name(holders.scan(shell))


def test_progress_is_reported(shell):
    run(shell, "rows = [[i] for i in range(200_000)]")
    seen = []
    holders.scan(shell, progress=lambda phase, done, total: seen.append((phase, done, total)))
    phases = [p for p, _, _ in seen]
    assert "walk" in phases and "sizes" in phases and phases[-1] == "holders"
    assert all(0 <= d <= max(t, d) for _, d, t in seen)


def test_block_size_follows_the_allocators():
    assert holders.block_size(1) == 16 and holders.block_size(512) == 512
    assert holders.block_size(513) == 520  # glibc: 16-byte chunks with an 8-byte header
    assert holders.block_size(0) == 0


def test_leaves_folded_into_their_only_parent(shell):
    """A leaf only one object refers to is counted in that object; a shared leaf is not."""
    run(
        shell,
        """
shared_text = 'x' * 3000
a = [shared_text]
b = [shared_text]
c = [bytes(3000) for _ in range(100)]     # each bytes only in c: folded into c
d = [bytes(100_000)]                      # big: a node of its own (the shim is asked about it)
""",
    )
    result = holders.scan(shell)
    h = by_name(result)
    assert h["c"]["bytes"] >= 300_000 and h["d"]["bytes"] >= 100_000
    assert h["a"]["bytes"] < 1000 and h["b"]["bytes"] < 1000 and h["shared_text"]["bytes"] < 1000
    group = [g for g in result["shared"] if set(g["names"]) == {"shared_text", "a", "b"}]
    assert len(group) == 1 and group[0]["bytes"] >= 3000
