"""1500 generated messages (protocol/fuzz.py: valid fixtures with hostile mutations) through the agent's
validators. lab-extension/comm/protocol.fuzz.spec.ts checks that the extension gives the same verdicts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fuzz():
    spec = importlib.util.spec_from_file_location("protocol_fuzz", ROOT / "protocol" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def known_names() -> set:
    """Every property name of the schemas (unknown extra keys are allowed and not looked at)."""
    names: set = set()

    def walk(node):
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (ROOT / "protocol").rglob("*.schema.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return names


NESTED_EXTRA = ("type", "protocol")


def known_part(node, names: set, top: bool = True):
    # fuzz.py adds extra "type"/"protocol" keys to nested objects: known names only at the top (a Holder's
    # own `type` is checked by its pattern in the fixtures)
    if isinstance(node, dict):
        return {
            k: known_part(v, names, False) for k, v in node.items() if k in names and (top or k not in NESTED_EXTRA)
        }
    if isinstance(node, list):
        return [known_part(v, names, False) for v in node]
    return node


def test_generated_messages():
    cases = list(fuzz().cases(1500))
    assert len(cases) == 1500
    accepted = [c for c in cases if c["problem"] is None]
    refused = [c for c in cases if c["problem"] is not None]
    assert len(accepted) > 100 and len(refused) > 500
    kinds = {c["kind"] for c in accepted} & {c["kind"] for c in refused}
    assert kinds == {"kernel", "browser", "report"}
    for case in refused:
        # one short line that never raised, whatever the input
        assert isinstance(case["problem"], str) and 0 < len(case["problem"]) <= 500 and "\n" not in case["problem"]
    names = known_names()
    for case in accepted:
        # what a validator accepts can be sent: strict JSON, UTF-8 (no lone surrogate, no NaN); unknown
        # extra keys are not looked at (forward compatibility): the sender must not put such text there
        json.dumps(known_part(case["data"], names), ensure_ascii=False, allow_nan=False).encode("utf-8")
        if case["kind"] == "browser":
            assert all(type(case["data"].get(k, 0)) is int for k in ("seq", "limit", "top_n"))
