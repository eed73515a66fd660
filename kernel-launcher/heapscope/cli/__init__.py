"""The ``heapscope`` command, one module per command:

- ``heapscope report NOTEBOOK.ipynb --json OUT.json [--html OUT.html]`` (:mod:`.report`, :mod:`.notebook`)
- ``heapscope run [--mode M] SCRIPT.py [args...] --json OUT.json`` (:mod:`.run`)
- ``heapscope diff BEFORE.json AFTER.json [--json OUT] [--html OUT] [--fail-over PERCENT]`` (:mod:`.diff`)
- ``heapscope install-kernel --python PATH`` (:mod:`.install_kernel`)

Exit statuses and messages are shared (:mod:`.common`): bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

from . import diff, install_kernel, report, run
from .common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_OVER_BUDGET, EXIT_STATUS_HELP, EXIT_UNPROFILED
from .run import split_run_args

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_OVER_BUDGET",
    "EXIT_UNPROFILED",
    "build_parser",
    "main",
    "split_run_args",
]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="heapscope", description="Per-cell heap profiler for Jupyter.", epilog=EXIT_STATUS_HELP
    )
    parser.add_argument("--version", action="version", version=f"heapscope {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report.add_parser(commands)
    run.add_parser(commands)
    diff.add_parser(commands)
    install_kernel.add_parser(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"]:
        args = ["run", *split_run_args(args[1:])]
    parsed = build_parser().parse_args(args)
    return int(parsed.handler(parsed))
