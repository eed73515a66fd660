"""Generated protocol messages for differential testing of the two validators.

    python protocol/fuzz.py [N] [SEED]    print N cases (default 1500) as JSON lines

Each case starts from a valid fixture (protocol/fixtures/*.json) and gets one to three random mutations: a
field replaced by a hostile value (lone surrogates, NUL, 2^53, -1, 1e308, "NaN", deep nesting, long text,
wrong types), a field removed, an unknown key added, or a list grown past its limit. Every line is
``{"kind": "kernel" | "browser" | "report", "data": ..., "problem": <the Python verdict or null>}``, with the
data written as strict JSON (lone surrogates as \\u escapes, no NaN). lab-extension/comm/protocol.fuzz.spec.ts
runs this script and checks that the TypeScript validators give the same verdict on every case;
tests/test_protocol_fuzz.py checks that the Python side never raises and always answers in one short line.
Deterministic for a given seed.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kernel-launcher"))

from heapscope.agent import protocol  # noqa: E402

CHECKS: Dict[str, Callable[[Any], Optional[str]]] = {
    "kernel": protocol.validate_outgoing,
    "browser": protocol.validate_incoming,
    "report": protocol.validate_report,
}


#: Cases larger than this (JSON characters) are drawn again: the run stays a few seconds.
MAX_CASE = 150_000


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


#: Values a hostile or broken peer could put anywhere.
HOSTILE: List[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    1.5,
    2.0,
    -0.0,
    1e308,
    -1e308,
    2**53 - 1,
    2**53,
    2**64,
    -(2**63),
    "",
    "x",
    "NaN",
    "Infinity",
    "-1",
    "0",
    "\ud800",
    "\udfff",
    "a\ud800b",
    "\U0001f600",
    "\x00",
    "\u2028",
    "<script>alert(1)</script>",
    "x" * 300,
    "é" * 5000,
    "\ud83d" * 3,
    [],
    [[]],
    [1, 2, 3],
    [1.5, -1],
    {},
    {"k": "v"},
    {"protocol": 2},
    _nested(60),
    _nested(150),
    "status",
    "ticks",
    "samples",
    "default",
    "exact",
    "ok",
    "next_cell",
]


def _fixtures() -> Dict[str, List[Any]]:
    out: Dict[str, List[Any]] = {}
    for kind in CHECKS:
        cases = json.loads((HERE / "fixtures" / f"{kind}.json").read_text(encoding="utf-8"))["cases"]
        # Valid starting points only, and none of the repeat cases (they are large).
        out[kind] = [c["data"] for c in cases if c["valid"] and "$repeat" not in json.dumps(c["data"])]
    return out


def _paths(node: Any, prefix: Tuple = ()) -> Iterator[Tuple]:
    """Every path to a value inside ``node`` (not ``node`` itself)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


def _parent(node: Any, path: Tuple) -> Any:
    for step in path[:-1]:
        node = node[step]
    return node


def _mutate(data: Any, rng: random.Random) -> Any:
    paths = list(_paths(data))
    if not paths:
        return rng.choice(HOSTILE)
    path = rng.choice(paths)
    parent, last = _parent(data, path), path[-1]
    action = rng.random()
    if action < 0.55:
        parent[last] = copy.deepcopy(rng.choice(HOSTILE))
    elif action < 0.7:
        if isinstance(parent, dict):
            del parent[last]
        else:
            parent.pop(last)
    elif action < 0.8 and isinstance(parent, dict):
        parent[rng.choice(["future", "\ud800", "", "type", "protocol", "x" * 50])] = rng.choice(HOSTILE)
    elif action < 0.9 and isinstance(parent[last], list) and parent[last]:
        # past a list's limit (most are 1000 or less; ticks and cells 10,000), small items only
        item = parent[last][0]
        small = len(json.dumps(item)) < 100
        parent[last] = [item] * (rng.choice([257, 1001, 10_001]) if small else rng.choice([2, 3]))
    elif isinstance(parent[last], str) and len(parent[last]) < 300:
        parent[last] = parent[last] * rng.choice([2, 100, 5000])
    else:
        parent[last] = copy.deepcopy(rng.choice(HOSTILE))
    return data


def cases(n: int = 1500, seed: int = 20261205) -> Iterator[dict]:
    rng = random.Random(seed)
    starts = _fixtures()
    kinds = ["kernel"] * 6 + ["browser"] * 3 + ["report"]
    for _ in range(n):
        kind = rng.choice(kinds)
        while True:
            data = copy.deepcopy(rng.choice(starts[kind]))
            for _ in range(rng.choice([1, 1, 2, 3])):
                data = _mutate(data, rng)
            text = json.dumps(data, ensure_ascii=True, allow_nan=False)
            if len(text) <= MAX_CASE:
                break
        seen = json.loads(text)  # what a receiver sees (tuples are lists, 2.0 stays 2.0 here and is 2 in JS)
        yield {"kind": kind, "data": seen, "problem": CHECKS[kind](seen), "json": text}


def main(argv: List[str]) -> int:
    n = int(argv[0]) if argv else 1500
    seed = int(argv[1]) if len(argv) > 1 else 20261205
    out = sys.stdout
    for case in cases(n, seed):
        out.write(json.dumps({"kind": case["kind"], "problem": case["problem"]}, ensure_ascii=True))
        out.write("\t" + case["json"] + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
