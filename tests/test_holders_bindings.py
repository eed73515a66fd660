"""Bindings' pass over the user namespace (agent/holders.py): the bridge's C function
(shim/bridge/bindings.c) and the Python fallback give the same answers, and Bindings names the cell that
last bound each name."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from heapscope.agent import holders

IMPLEMENTATIONS = [pytest.param(holders._changed_py, id="python")]
if holders._changed is not holders._changed_py:
    IMPLEMENTATIONS.append(pytest.param(holders._changed, id="c"))


def test_the_bridge_has_the_c_pass():
    """Built for this Python (setup builds every bridge): the C pass is the one in use."""
    assert holders._changed is not holders._changed_py


@pytest.mark.parametrize("changed", IMPLEMENTATIONS)
def test_new_rebound_and_removed_names(changed):
    a, b = [1], [2]
    ns = {"a": a, "b": b, 3: "not a name"}
    ids: dict = {}
    assert sorted(changed(ns, ids)[0]) == ["a", "b"] and ids == {"a": id(a), "b": id(b)}
    assert changed(ns, ids) == ([], [])  # nothing happened
    ns["b"] = [2]  # rebound: another object
    ns["a"] = a  # the same object again: not a binding that changed anything
    ns["c"] = b
    out = changed(ns, ids)
    assert sorted(out[0]) == ["b", "c"] and out[1] == []
    del ns["a"], ns["c"]
    out = changed(ns, ids)
    assert out[0] == [] and sorted(out[1]) == ["a", "c"] and set(ids) == {"b"}
    assert ids["b"] == id(ns["b"])


@pytest.mark.parametrize("changed", IMPLEMENTATIONS)
def test_many_names_of_which_few_change(changed):
    ns = {f"_i{i}": f"cell {i}" for i in range(2000)}
    ids: dict = {}
    changed(ns, ids)
    ns["_i7"] = "again"
    ns["df"] = object()
    out = changed(ns, ids)
    assert sorted(out[0]) == ["_i7", "df"] and out[1] == [] and len(ids) == 2001


def test_bindings_name_the_cell_that_bound_each_name():
    shell = SimpleNamespace(user_ns={})
    bindings = holders.Bindings(shell)

    def cell(cell_id, count, error=None, **names):
        shell.user_ns.update(names)
        info = SimpleNamespace(cell_id=cell_id)
        bindings.post_run_cell(SimpleNamespace(info=info, execution_count=count, error_in_exec=error))

    cell("c1", 1, x=[1], y=[2])
    cell("c2", 2, y=[3])
    del shell.user_ns["x"]
    cell("c3", 3, error=ValueError())
    assert bindings.names["y"][1:] == ("c2", 2) and "x" not in bindings.names
    assert bindings.names[holders.TRACEBACK][1:] == ("c3", 3)
    assert bindings.cells == {1: "c1", 2: "c2", 3: "c3"}
