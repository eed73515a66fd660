"""``heapscope run``'s second half: runs inside the profiled process (the shim preloaded by ``heapscope run``).

``python -m heapscope.runner --json OUT.json [--mode M] -- SCRIPT [args...]`` installs the engine, runs
SCRIPT with ``runpy`` as ``__main__`` as one "cell", and writes the report (``protocol/report.schema.json``,
target kind ``script``) before exiting with the script's exit status — also when the script raises
(status 1, the traceback printed as Python would) or calls ``sys.exit``. A script that ends the process
itself (``os._exit``, a fatal signal) leaves no report.

The cell goes through the same agent code as a notebook cell (:class:`heapscope.agent.core.Agent`, with
no shell and no comm), so the report's fields mean exactly what they mean for notebooks.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import traceback
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

#: Longest script source copied into the report's ``source``.
MAX_SOURCE = 1_000_000


def _say(text: str) -> None:
    print(f"heapscope: {text}", file=sys.stderr, flush=True)


def _run_script(script: Path, args: Sequence[str]) -> Tuple[int, Optional[str]]:
    """Run the script as ``__main__``; returns ``(exit status, why it failed or None)``."""
    saved_argv, saved_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [str(script), *args]
    if sys.path:
        sys.path[0] = str(script.parent)
    try:
        runpy.run_path(str(script), run_name="__main__")
        return 0, None
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0, None
        if isinstance(code, int):
            return code & 0xFF, (f"the script exited with status {code}" if code else None)
        print(code, file=sys.stderr)  # sys.exit("message"): Python prints it and exits with 1
        return 1, f"the script exited: {code}"
    except KeyboardInterrupt:
        traceback.print_exc()
        return 130, "the script was interrupted (KeyboardInterrupt)"
    except BaseException as exc:
        traceback.print_exc()
        return 1, f"the script raised {type(exc).__name__}: {exc}"
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None and sys.path:
            sys.path[0] = saved_path0


def profile(script: Path, args: Sequence[str], out: Path, mode: str) -> int:
    from . import __version__
    from .agent.core import connected_agent
    from .agent.hooks import CellEnd, CellStart
    from .agent.shim import take_launcher_error
    from .bytes_format import format_signed_bytes
    from .report import build_report, write_json

    agent = connected_agent(None, mode, take_launcher_error(), root_files=(str(script),))
    shim, reason = agent.shim, agent.reason
    if shim is None:
        _say(reason or "the shim is not active")
    elif agent.engine is None:
        _say(agent.engine_reason or "no line-level attribution")
    try:
        source = script.read_text(errors="replace")[:MAX_SOURCE]
    except OSError:
        source = ""
    key = object()
    agent.on_cell_start(CellStart(id(key), None, None, source, None))
    status, message = _run_script(script, args)
    agent.on_cell_end(CellEnd(id(key), None, "ok" if status == 0 else "error", False))
    snapshot = agent.snapshot(0, retained=True)
    outcome = "unprofiled" if shim is None else ("ok" if status == 0 else "error")
    if shim is None:
        message = reason
    report = build_report(
        cells=snapshot["cells"],
        target_kind="script",
        target_path=str(script),
        kernel_name=None,
        kernel_status=snapshot["status"],
        outcome=outcome,
        message=message,
        failed_cell={"index": 0, "cell_id": None} if outcome == "error" else None,
        version=__version__,
        retained_by_cell=snapshot.get("retained_by_cell"),
    )
    try:
        write_json(report, out)
    except OSError as exc:
        _say(f"could not write {out}: {exc}")
        return status or 2
    for cell in snapshot["cells"]:
        _say(
            f"peak {format_signed_bytes(cell['peak_bytes'] - cell['start_bytes'])}, "
            f"end {format_signed_bytes(cell['end_bytes'] - cell['start_bytes'])}; report in {out}"
        )
    return status


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m heapscope.runner")
    parser.add_argument("--json", required=True)
    parser.add_argument("--mode", default=None, choices=("default", "exact"))
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    from .agent.engine import mode_from_env

    mode = ns.mode or mode_from_env()[0]
    return profile(Path(ns.script).resolve(), ns.args, Path(ns.json), mode)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
