"""The holders scan (agent/holders.py) on a real IPython shell in this process: read-only guarantees (no user
code runs, nothing referenced after the scan), what counts as held from outside, shared groups, object arrays;
every test runs with both walks (the C walk of heapscope._bridge and the Python fallback), and the two must give
the same answers on the same real objects. The numbers against the shim's truth are in tests/test_holders.py
(real kernels)."""

from __future__ import annotations

import gc
import subprocess
import sys

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from heapscope.agent import holders, holders_walk

MB = 1_000_000


#: Tests that choose the walk themselves (the others run once with each walk).
CHOOSE_THEIR_WALK = {
    "test_the_c_walk_is_the_default_in_the_installed_package",
    "test_c_and_python_walks_agree_on_real_objects",
    "test_the_c_walk_leaves_the_gc_and_references_as_they_were",
    "test_unknown_engine_is_refused",
    "test_block_size_follows_the_allocators",
    "test_the_c_walk_survives_another_thread_freeing_what_it_walks",
    "test_without_the_bridge_the_python_walk_is_used",
}


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ not in CHOOSE_THEIR_WALK:
        metafunc.parametrize("engine", ["c", "python"], indirect=True)


@pytest.fixture(autouse=True)
def engine(request, monkeypatch):
    """The walk the test's scans use: the C walk (the default when the bridge has it) or the Python fallback."""
    walk = getattr(request, "param", None)
    if walk:
        monkeypatch.setattr(holders_walk, "DEFAULT_ENGINE", walk)
    return walk


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


def test_the_c_walk_is_the_default_in_the_installed_package():
    assert holders_walk._c_walk is not None, "heapscope._bridge.holders_walk missing from the installed wheel"
    assert holders_walk.DEFAULT_ENGINE == "c"


SAME_OBJECTS = """
import functools, numpy as np, pandas as pd
arr = np.ones(1_000_000)
base = np.ones(600_000)
view = base[::2]
ba = bytearray(3_000_000)
arrays = [np.ones(100_000) for _ in range(5)]
by_key = {i: np.ones(100_000) for i in range(3)}
df = pd.DataFrame({"x": np.ones(200_000), "y": np.arange(200_000.0)})
col = df["x"]

@functools.lru_cache(maxsize=None)
def cached(n):
    return np.ones(n)

cached(300_000)

def make():
    buf = bytearray(2_000_000)
    def closure():
        return len(buf)
    return closure

closure = make()
both = [arr, ba]
also = {"a": arr}
rows = [[float(i), str(i) * 3, (i, i + 0.5)] for i in range(3000)]
objs = np.empty(2, dtype=object)
objs[:] = [bytearray(50_000), "x" * 10_000]
big_bytes = [bytes(20_000) for _ in range(3)]

class L(list):
    pass

class Slotted:
    __slots__ = ("a", "b")

class Plain:
    __sizeof__ = object.__sizeof__  # a C __sizeof__ taken from another type

sub = [L([bytes(10), 1.5]) for _ in range(3)]
slotted = [Slotted() for _ in range(3)]
plain = [Plain() for _ in range(3)]
for x in slotted:
    x.a = bytearray(3000)
for x in plain:
    x.payload = [str(i) for i in range(10)]
"""


def _fake_blocks(addresses):
    """A stand-in for the shim's table (no shim in this process): every buffer is a block of a size and stack
    derived from its address, so both walks' exact-size paths are exercised and must agree."""
    return [(a % 97 + 1, 5000 + a % 4093) if a % 5 else None for a in addresses]


def test_c_and_python_walks_agree_on_real_objects(shell):
    run(shell, SAME_OBJECTS)
    run(shell, "np.ones(250_000)")  # an output with its aliases
    run(shell, "def fails():\n    local = bytearray(1_500_000)\n    raise KeyError('x')\nfails()")
    gc.collect()
    results = {}
    for engine in ("python", "c"):
        for blocks in (None, _fake_blocks):
            hs, barriers = holders.collect_holders(shell)
            results[engine, blocks is None] = holders_walk.walk_holders(hs, barriers, None, 10**12, blocks, engine)
            hs = barriers = None
    for no_shim in (True, False):
        c, py = results["c", no_shim], results["python", no_shim]
        assert c["objects"] == py["objects"] and c["shared"] == py["shared"]
        assert {h["name"]: h for h in c["holders"]} == {h["name"]: h for h in py["holders"]}
        assert c["holders"] == py["holders"]  # the same order too
    h = {x["name"]: x for x in results["c", True]["holders"]}
    # the numbers are the scan's own (not just equal to each other): a few spot checks
    assert h["arrays"]["bytes"] >= 4 * MB and h["cached"]["bytes"] >= 2.4 * MB and h["closure"]["bytes"] >= 2 * MB
    assert h["arr"]["bytes"] < 1000 and h["arr"]["reachable_bytes"] >= 8 * MB  # shared with both and also
    assert h["view"]["reachable_bytes"] >= 4.8 * MB and h["base"]["bytes"] < 1000
    assert h["col"]["reachable_bytes"] >= 1.6 * MB and h["last traceback"]["bytes"] >= 1.5 * MB
    assert h["objs"]["bytes"] >= 60_000 and h["rows"]["bytes"] >= 3000 * 100
    names = {tuple(sorted(g["names"])) for g in results["c", True]["shared"]}
    assert ("also", "arr", "both") in names and ("base", "view") in names and ("col", "df") in names
    # with the shim's blocks, the big buffers take the block's size and carry a site row
    hx = {x["name"]: x for x in results["c", False]["holders"]}
    assert any(hx[n].get("site_rows") for n in hx) and hx["arrays"]["bytes"] != h["arrays"]["bytes"]


def test_the_c_walk_leaves_the_gc_and_references_as_they_were(shell):
    run(shell, "import numpy as np\nclass K: pass\nkeep = [np.ones(10), {'k': bytearray(10)}, K()]\nalias = keep[1]")
    ns = shell.user_ns
    before = {n: sys.getrefcount(ns[n]) for n in ("keep", "alias", "K")}
    inner = sys.getrefcount(ns["keep"][0])
    assert gc.isenabled()
    hs, barriers = holders.collect_holders(shell)
    holders_walk.walk_holders(hs, barriers, None, None, None, "c")
    hs = barriers = None
    assert gc.isenabled()
    after = {n: sys.getrefcount(ns[n]) for n in ("keep", "alias", "K")}
    after_inner = sys.getrefcount(ns["keep"][0])  # (not inside the assert: its rewriting keeps a reference)
    assert after == before and after_inner == inner
    gc.disable()
    try:
        hs, barriers = holders.collect_holders(shell)
        holders_walk.walk_holders(hs, barriers, None, None, None, "c")
        hs = barriers = None
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError):
        holders_walk.walk_holders([], [], None, None, None, "rust")


THREAD_CHURN = """
import sys, threading
from heapscope.agent import holders_walk as hw
assert hw.DEFAULT_ENGINE == "c"
sys.setswitchinterval(1e-6)
N = 200_000
data = [bytearray(8) for i in range(N)]
stop = False

def churn():
    while not stop:
        for i in range(0, N, 7):
            data[i] = bytearray(8)  # the old item is freed at once

t = threading.Thread(target=churn)
t.start()
try:
    for rep in range(5):
        # new classes: the walk calls back into Python (kind_of) in the middle of the list's references,
        # and the other thread may run then
        for i in range(0, N, 100):
            data[i] = type(f"U{rep}_{i}", (), {})()
        r = hw.walk_holders([("data", "variable", [data], [data])], [], None, None, None, "c")
finally:
    stop = True
    t.join()
print("objects", r["objects"])
"""


def test_the_c_walk_survives_another_thread_freeing_what_it_walks():
    """While the C walk calls Python code, another thread may run and free objects the walked object referred
    to: the walk holds the references it has not looked at yet (without that, this process crashed)."""
    out = subprocess.run([sys.executable, "-c", THREAD_CHURN], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["objects", "200001"]


def test_without_the_bridge_the_python_walk_is_used():
    code = (
        "import sys\n"
        "sys.modules['heapscope._bridge'] = None  # as on a Python the wheel has no bridge for\n"
        "from heapscope.agent import holders_walk as hw\n"
        "data = [bytearray(10_000), [1.5, 'x']]\n"
        "r = hw.walk_holders([('data', 'variable', [data], [data])], [], None, None, None)\n"
        "print(hw.DEFAULT_ENGINE, r['holders'][0]['bytes'] > 10_000)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["python", "True"]
