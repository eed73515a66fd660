"""What a case says about itself: `# truth[large|small]: NAME` comments mark the line that allocates NAME;
the case reports NAME's size at run time with _acc.truth(NAME, bytes)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Set, Tuple

MARK = re.compile(r"#\s*truth\[(large|small)\]:\s*([\w-]+)")
BEGIN = re.compile(r"^\s*_acc\.begin\(\)")


@dataclass
class Case:
    name: str
    path: Path
    marks: Dict[str, Tuple[int, str]]  # truth name -> (line, "large" | "small")
    setup_lines: Set[int]  # module-level statements before _acc.begin() (imports, set-up)


def load(path: Path) -> Case:
    source = path.read_text()
    marks, begin = {}, 0
    for lineno, text in enumerate(source.splitlines(), start=1):
        m = MARK.search(text)
        if m:
            marks[m.group(2)] = (lineno, m.group(1))
        if not begin and BEGIN.match(text):
            begin = lineno
    setup: Set[int] = set()
    for node in ast.parse(source).body:
        if node.lineno < begin and not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            setup.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return Case(path.stem, path, marks, setup)


def cases(folder: Path):
    return [load(p) for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]
