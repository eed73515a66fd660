"""``heapscope diff BEFORE.json AFTER.json [--json OUT] [--html OUT] [--fail-over PERCENT]``: compare two
reports cell by cell (the rules: :mod:`heapscope.diff`; the output: ``protocol/diff.schema.json``)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from .common import EXIT_BAD_INPUT, EXIT_OK, EXIT_OVER_BUDGET, BadInput, one_line, say

DIFF_EXIT_HELP = (
    "exit status: 0 compared (nothing grew beyond --fail-over); 2 bad input (a file that is no heapscope "
    "report, an output that cannot be written); 4 a matched cell's peak grew by more than --fail-over percent "
    "(and more than --fail-min)"
)


def add_parser(commands: Any) -> None:
    diff = commands.add_parser(
        "diff",
        help="compare two heapscope reports cell by cell",
        description="Compare two reports written by `heapscope report`/`heapscope run` (or exported from "
        "JupyterLab): cells matched by id, then by source, then by position; per cell the peak added, the net "
        "and the retained heap, before -> after, and the lines whose bytes changed most.",
        epilog=DIFF_EXIT_HELP,
    )
    diff.add_argument("before", metavar="BEFORE.json")
    diff.add_argument("after", metavar="AFTER.json")
    diff.add_argument("--json", metavar="OUT.json", help="write the comparison as JSON (protocol/diff.schema.json)")
    diff.add_argument("--html", metavar="OUT.html", help="write the comparison as a self-contained HTML page")
    diff.add_argument(
        "--fail-over",
        metavar="PERCENT",
        type=float,
        default=None,
        help="exit status 4 when a matched cell's peak grew by more than PERCENT %% (added cells are listed, "
        "not failed)",
    )
    diff.add_argument(
        "--fail-min",
        metavar="SIZE",
        default="1 MB",
        help="growth of a cell's peak up to SIZE never fails (default: 1 MB)",
    )
    diff.set_defaults(handler=cmd_diff)


def read_report(path: str) -> Dict[str, Any]:
    """A heapscope report, or :class:`BadInput` saying why not."""
    from ..agent.protocol import validate_report

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {one_line(exc.strerror or exc)}") from None
    except ValueError as exc:
        raise BadInput(f"cannot read {path}: not JSON ({one_line(exc)})") from None
    if not isinstance(data, dict) or "heapscope_report" not in data:
        raise BadInput(f"cannot read {path}: not a heapscope report (no heapscope_report field)")
    from ..report import REPORT_VERSION

    if data["heapscope_report"] != REPORT_VERSION:
        raise BadInput(
            f"cannot read {path}: a version {one_line(data['heapscope_report'], 20)} report; this heapscope reads "
            f"version {REPORT_VERSION} (run the notebook again to make a new one)"
        )
    problem = validate_report(data)
    if problem is not None:
        raise BadInput(f"cannot read {path}: not a valid heapscope report: {one_line(problem, 200)}")
    return data


def cmd_diff(args: argparse.Namespace) -> int:
    from ..budgets import BudgetError, parse_limit
    from ..diff import diff_reports, row_lines
    from ..files import check_writable

    try:
        if args.fail_over is not None and not args.fail_over >= 0:
            raise BadInput(f"--fail-over must be a percentage of 0 or more, not {args.fail_over}")
        try:
            fail_min = parse_limit(args.fail_min, "--fail-min") or 0
        except BudgetError as exc:
            raise BadInput(str(exc)) from None
        if args.json and args.html and os.path.abspath(args.json) == os.path.abspath(args.html):
            raise BadInput(f"--json and --html name the same file: {args.json}")
        for option, out in (("--json", args.json), ("--html", args.html)):
            problem = check_writable(out) if out else None
            if problem is not None:
                raise BadInput(f"cannot write {option} {out}: {problem}")
        before, after = read_report(args.before), read_report(args.after)
    except BadInput as exc:
        say(str(exc))
        return EXIT_BAD_INPUT
    result = diff_reports(
        before, after, fail_over=args.fail_over, fail_min=fail_min, before_path=args.before, after_path=args.after
    )
    for row in result["cells"]:
        for line in row_lines(row):
            print(line)
    if not _write(result, args.json, args.html):
        return EXIT_BAD_INPUT
    failed = [row for row in result["cells"] if row["failed"]]
    if failed:
        say(f"{len(failed)} cell{'s' if len(failed) > 1 else ''} grew by more than {args.fail_over:g} %")
        return EXIT_OVER_BUDGET
    return EXIT_OK


def _write(result: Dict[str, Any], json_out: Optional[str], html_out: Optional[str]) -> bool:
    from ..diff_html import render_diff_html
    from ..files import write_text

    written: List[str] = []
    for out, text in (
        (json_out, lambda: json.dumps(result, indent=1) + "\n"),
        (html_out, lambda: render_diff_html(result)),
    ):
        if not out:
            continue
        try:
            write_text(Path(out), text())
        except OSError as exc:
            say(f"cannot write {out}: {one_line(exc.strerror or exc)}")
            return False
        written.append(out)
    if written:
        say(f"wrote {' and '.join(written)}")
    return True
