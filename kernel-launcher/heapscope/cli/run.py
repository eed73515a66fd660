"""``heapscope run [--mode M] SCRIPT.py [args...] --json OUT.json``: profile a script with the same engine
(:mod:`heapscope.runner`, in a new process with the shim preloaded) and exit with the script's status."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, List, Sequence

from .common import EXIT_BAD_INPUT, say


def add_parser(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="profile a Python script and write the same report",
        usage="heapscope run [--mode {default,exact}] SCRIPT.py [args ...] --json OUT.json",
        description="Run SCRIPT.py with the heapscope engine, the whole run as one cell, and write the report "
        "(schema: protocol/report.schema.json) - also when the script raises. A trailing `--json OUT.json` is "
        "heapscope's; to pass --json to the script, give heapscope's before SCRIPT.",
        epilog="exit status: the script's; 2 bad input (no such script, an output that cannot be written), nothing run",
    )
    run.add_argument("--json", required=True, metavar="OUT.json", help="where to write the report")
    run.add_argument(
        "--mode",
        choices=("default", "exact"),
        default=None,
        help="attribution mode (default: $HEAPSCOPE_MODE or 'default')",
    )
    run.add_argument("script", metavar="SCRIPT.py")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    run.set_defaults(handler=cmd_run)


def split_run_args(argv: Sequence[str]) -> List[str]:
    """``heapscope run`` accepts ``--json OUT`` also *after* the script's arguments (as its usage line
    shows): move a trailing ``--json OUT`` / ``--json=OUT`` in front of the script. To pass ``--json``
    to the script itself, give heapscope's ``--json`` before SCRIPT."""
    args = list(argv)
    head = args[: _script_index(args)]
    if "--json" in head or any(a.startswith("--json=") for a in head):
        return args
    if len(args) >= 2 and args[-2] == "--json":
        return args[-2:] + args[:-2]
    if args and args[-1].startswith("--json="):
        return args[-1:] + args[:-1]
    return args


def _script_index(args: Sequence[str]) -> int:
    """Index of SCRIPT in ``heapscope run``'s arguments (the first that is no option or option value)."""
    i = 0
    while i < len(args):
        if args[i] in ("--json", "--mode"):
            i += 2
        elif args[i].startswith("-"):
            i += 1
        else:
            return i
    return len(args)


def cmd_run(args: argparse.Namespace) -> int:
    from .._env import MODE
    from ..files import check_writable
    from ..launcher import kernel_environment

    script = Path(args.script)
    if not script.is_file():
        say(f"no such script: {script}")
        return EXIT_BAD_INPUT
    problem = check_writable(args.json)
    if problem is not None:
        say(f"cannot write --json {args.json}: {problem}")
        return EXIT_BAD_INPUT
    notes: List[str] = []
    env, problem = kernel_environment(os.environ, notes)
    for note in notes:
        say(note)
    if problem is not None:
        say(problem.replace("the kernel runs unprofiled", "the script runs unprofiled"))
    if args.mode:
        env[MODE] = args.mode
    command = [
        sys.executable,
        "-m",
        "heapscope.runner",
        "--json",
        str(Path(args.json).resolve()),
        str(script),
        *args.args,
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return EXIT_BAD_INPUT  # not reached
