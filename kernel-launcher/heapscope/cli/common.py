"""What every ``heapscope`` command shares: exit statuses, messages, bad-input errors."""

from __future__ import annotations

import sys

#: Exit statuses of ``heapscope report``, ``heapscope diff`` and ``heapscope install-kernel`` (``heapscope run`` exits with
#: the script's status, or EXIT_BAD_INPUT before it starts). Listed in ``EXIT_STATUS_HELP`` and README.md.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNPROFILED = 3
EXIT_OVER_BUDGET = 4

EXIT_STATUS_HELP = (
    "exit status: 0 every cell ran; 1 a cell failed or timed out, or the kernel died (the report holds the "
    "cells that ran); 2 bad input (arguments, notebook, output path, unknown kernel, unsupported Python, a budget "
    "that is no size), nothing run; 3 the kernel ran unprofiled (the report says why); 4 every cell ran but "
    "a cell went over its memory budget (each such cell is listed)"
)


class BadInput(Exception):
    """Input the command refuses before doing any work: one line of message, exit status 2."""


class CommandFailed(Exception):
    """A failure while working: one line of message, exit status 1."""


def say(text: str) -> None:
    """One line on stderr, as every message of the CLI."""
    print(f"heapscope: {text}", file=sys.stderr, flush=True)


def one_line(text: object, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters (error messages of libraries can be long)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
