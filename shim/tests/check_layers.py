#!/usr/bin/env python3
"""The shim's layering check (docs/engine.md, "Layers"): fails when a file of a lower layer includes or
calls a higher one, when files call each other in a circle, or when a shared macro is defined twice.

    python3 tests/check_layers.py [BUILD_DIR]     (run by `make -C shim test` after the library is built)

Layers, bottom first: core < data < engine < hooks < init (the folders of shim/src). Includes are read
from the sources; calls from the objects (`nm`: a file's undefined hs_* symbols and the file that
defines each). A file may use only its own layer or lower ones, and the file graph has no cycle.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

LAYERS = ["core", "data", "engine", "hooks", "init"]
SHIM = Path(__file__).resolve().parent.parent
SRC = SHIM / "src"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel: str) -> int:
    return LAYERS.index(rel.split("/", 1)[0])


def unit(rel: str) -> str:
    """A file's unit: its path without the extension (x.h and x.c are one unit)."""
    return rel.rsplit(".", 1)[0]


def find_cycle(graph: dict) -> list:
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return []


def main(argv: list) -> int:
    build = Path(argv[1]) if len(argv) > 1 else SHIM / "build"
    problems = []
    graph: dict = {}
    files = sorted(p.relative_to(SRC).as_posix() for p in SRC.rglob("*") if p.suffix in (".c", ".h"))
    for rel in files:
        top = rel.split("/", 1)[0]
        if top not in LAYERS or rel.count("/") != 1:
            problems.append(f"{rel}: not in a layer folder ({', '.join(LAYERS)})")
            continue
        text = (SRC / rel).read_text()
        for inc in INCLUDE.findall(text):
            if inc == "heapscope.h":
                continue
            if not (SRC / inc).exists():
                problems.append(f"{rel}: includes {inc!r}, which is not src/<layer>/<file>")
                continue
            if layer_of(inc) > layer_of(rel):
                problems.append(f"{rel} ({top}) includes {inc} ({inc.split('/')[0]}): a lower layer uses a higher one")
            if unit(inc) != unit(rel):
                graph.setdefault(unit(rel), set()).add(unit(inc))
        if rel != "core/hs.h" and re.search(r'visibility\s*\(\s*"(hidden|default)"\s*\)|tls_model', text):
            problems.append(f"{rel}: spells out a visibility/TLS attribute (use HS_HIDDEN/HS_EXPORT/HS_TLS of core/hs.h)")

    # calls, from the objects
    defined, undefined = {}, {}
    objs = sorted(o for layer in LAYERS for o in (build / "obj" / layer).glob("*.o"))
    if not objs:
        problems.append(f"no objects under {build / 'obj'}: build the library first")
    for obj in objs:
        rel = obj.relative_to(build / "obj").with_suffix(".c").as_posix()
        out = subprocess.run(["nm", str(obj)], check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U" and parts[1].startswith(("hs_", "heapscope_")):
                undefined.setdefault(rel, set()).add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBRV" and parts[2].startswith(("hs_", "heapscope_")):
                defined[parts[2]] = rel
    for rel, names in sorted(undefined.items()):
        for name in sorted(names):
            owner = defined.get(name)
            if owner is None:
                continue
            if layer_of(owner) > layer_of(rel):
                problems.append(f"{rel} ({rel.split('/')[0]}) uses {name} of {owner} ({owner.split('/')[0]}): "
                                "a lower layer calls a higher one")
            if unit(owner) != unit(rel):
                graph.setdefault(unit(rel), set()).add(unit(owner))
    cycle = find_cycle(graph)
    if cycle:
        problems.append("files use each other in a circle: " + " -> ".join(cycle))
    for p in problems:
        print(f"check_layers: {p}", file=sys.stderr)
    if not problems:
        print(f"check_layers: {len(files)} files in {len(LAYERS)} layers, no upward use, no circle")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
