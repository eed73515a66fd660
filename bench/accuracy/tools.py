"""Each tool runs a case and answers {"lines": {line: bytes at the peak}, "other": bytes, "peak_total": ...}:
bytes held at the peak, summed by the innermost frame that lies in the case file ("other" when none does).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from .. import configs, measure, peers
from ..environment import HEAPSCOPE, MAIN_PYTHON

HERE = Path(__file__).resolve().parent


class Unavailable(Exception):
    """The tool cannot run here (not installed, not built yet); the message says why."""


def _run(argv: List[str], env: Dict[str, str], timeout: float, keep: Path) -> None:
    res = measure.run(argv, env, timeout, keep=keep)
    if res.get("error"):
        raise RuntimeError(res["error"])


def truth(case: Path, env: Dict[str, str], timeout: float) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="heapscope-acc-") as tmp:
        out = Path(tmp) / "truth.json"
        _run(
            [str(MAIN_PYTHON), str(case)],
            {**env, "BENCH_ACC_MODE": "truth", "BENCH_ACC_OUT": str(out)},
            timeout,
            Path(tmp) / "keep",
        )
        doc = json.loads(out.read_text())
    return {"sizes": doc["truth"], "blocks_by_line": {int(k): v for k, v in doc.get("blocks_by_line", {}).items()}}


def tracemalloc(case: Path, env: Dict[str, str], timeout: float) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="heapscope-acc-") as tmp:
        out = Path(tmp) / "tracemalloc.json"
        _run(
            [str(MAIN_PYTHON), str(case)],
            {**env, "BENCH_ACC_MODE": "tracemalloc", "BENCH_ACC_OUT": str(out)},
            timeout,
            Path(tmp) / "keep",
        )
        doc = json.loads(out.read_text())
    doc["lines"] = {int(k): v for k, v in doc["lines"].items()}
    return doc


def _memray(flags: List[str]):
    def run(case: Path, env: Dict[str, str], timeout: float) -> Dict[str, Any]:
        if not peers.bin_path("memray").exists():
            raise Unavailable("memray is not installed in bench/.venv-peers")
        with tempfile.TemporaryDirectory(prefix="heapscope-acc-") as tmp:
            keep = Path(tmp) / "keep"
            _run(
                [str(peers.bin_path("memray")), "run", "-q", "-f", *flags, "-o", "{scratch}/capture.bin", str(case)],
                env,
                timeout,
                keep,
            )
            res = measure.run(
                [str(peers.PY), str(HERE / "memray_lines.py"), str(keep / "capture.bin"), str(case)],
                env,
                timeout,
                keep=Path(tmp) / "reader",
            )
            if res.get("error"):
                raise RuntimeError(f"reading the capture: {res['error']}")
            doc = json.loads((Path(tmp) / "reader" / "stdout.txt").read_text())
        doc["lines"] = {int(k): v for k, v in doc["lines"].items()}
        return doc

    return run


def _frame_location(frame: Any) -> Optional[tuple]:
    """(file, line) from a stack frame in whatever shape the report gives: a dict with file/line, or a list
    holding one path string and one integer."""
    if isinstance(frame, dict):
        f, ln = frame.get("file") or frame.get("filename"), frame.get("line") or frame.get("lineno")
        return (f, ln) if isinstance(f, str) and isinstance(ln, int) else None
    if isinstance(frame, (list, tuple)):
        paths = [x for x in frame if isinstance(x, str) and (x.endswith(".py") or os.sep in x)]
        ints = [x for x in frame if isinstance(x, int) and not isinstance(x, bool)]
        return (paths[0], ints[0]) if paths and ints else None
    return None


def heapscope_lines(report: Dict[str, Any], case: Path) -> Dict[str, Any]:
    """Per-line bytes from a `heapscope run --json` report: the script is one cell; its `top_at_peak`."""
    cells = report.get("cells") or []
    if not cells:
        raise RuntimeError("the report has no cells")
    cell = max(cells, key=lambda c: c.get("peak_bytes", 0) - c.get("start_bytes", 0))
    sites = cell.get("top_at_peak")
    if sites is None:
        raise Unavailable("the report has no top_at_peak (engine not there yet)")
    real = os.path.realpath(case)
    lines: Dict[int, int] = {}
    other = 0
    for site in sites:
        line = None
        frames = [site, *(site.get("stack") or [])]
        for frame in frames:
            loc = _frame_location(frame)
            if loc and os.path.realpath(loc[0]) == real:
                line = loc[1]
                break
        if line is None and site.get("cell_line") is not None and len(cells) == 1:
            line = site["cell_line"]
        if line is None:
            other += site.get("bytes", 0)
        else:
            lines[line] = lines.get(line, 0) + site.get("bytes", 0)
    return {"lines": lines, "other": other, "peak_total": cell.get("peak_bytes", 0) - cell.get("start_bytes", 0)}


def _heapscope(mode: str):
    def run(case: Path, env: Dict[str, str], timeout: float) -> Dict[str, Any]:
        reason = configs.heapscope_missing()
        if reason:
            raise Unavailable(reason)
        with tempfile.TemporaryDirectory(prefix="heapscope-acc-") as tmp:
            keep = Path(tmp) / "keep"
            _run(
                [str(HEAPSCOPE), "run", "--mode", mode, "--json", "{scratch}/report.json", str(case)],
                env,
                timeout,
                keep,
            )
            report = json.loads((keep / "report.json").read_text())
        return heapscope_lines(report, case)

    return run


TOOLS = {
    "heapscope-default": _heapscope("default"),
    "heapscope-exact": _heapscope("exact"),
    "tracemalloc": tracemalloc,
    "memray": _memray([]),
    "memray-pyalloc": _memray(["--trace-python-allocators"]),
}
