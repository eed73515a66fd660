"""The shared protocol fixtures (protocol/fixtures/*.json) through the agent's validators.

lab-extension/comm/protocol.spec.ts runs the same cases through the extension's; each case is labelled
valid or invalid, so the Python and TypeScript sides cannot drift apart again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from heapscope.agent import protocol

FIXTURES = Path(__file__).resolve().parents[1] / "protocol" / "fixtures"


def expand(node):
    """``{"$repeat": X, "times": N}``: X repeated N times (a string joined, anything else a list)."""
    if isinstance(node, list):
        return [expand(v) for v in node]
    if isinstance(node, dict):
        if set(node) == {"$repeat", "times"}:
            value = expand(node["$repeat"])
            return value * node["times"] if isinstance(value, str) else [value] * node["times"]
        return {k: expand(v) for k, v in node.items()}
    return node


def cases(name):
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["name"]) for case in data["cases"]]


CHECKS = {
    "kernel.json": protocol.validate_outgoing,
    "browser.json": protocol.validate_incoming,
    "report.json": protocol.validate_report,
}


def test_there_are_enough_fixtures():
    counts = {name: len(cases(name)) for name in CHECKS}
    assert sum(counts.values()) >= 60, counts
    every = [c.values[0] for name in CHECKS for c in cases(name)]
    assert any(c["valid"] for c in every) and any(not c["valid"] for c in every)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_fixtures(name):
    check = CHECKS[name]
    failures = []
    for param in cases(name):
        case = param.values[0]
        problem = check(expand(case["data"]))
        if case["valid"] and problem is not None:
            failures.append(f"{case['name']}: should be valid, got {problem!r}")
        elif not case["valid"]:
            if problem is None:
                failures.append(f"{case['name']}: should be invalid")
            elif case["where"] not in problem:
                failures.append(f"{case['name']}: the problem should name {case['where']!r}: {problem!r}")
            elif len(problem) > 500:
                failures.append(f"{case['name']}: the problem is {len(problem)} characters long")
    assert not failures, "\n".join(failures)
