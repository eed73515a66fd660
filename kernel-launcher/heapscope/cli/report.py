"""``heapscope report NOTEBOOK.ipynb --json OUT.json [--html OUT.html]``: run a notebook headless under the
heapscope kernel and write its per-cell heap ledger.

Every input is checked before the kernel starts (the outputs' folders, the notebook's form, the kernel's
name): bad input is one line and exit status 2, never a traceback, and never after a long run."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from .common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_OVER_BUDGET,
    EXIT_STATUS_HELP,
    EXIT_UNPROFILED,
    BadInput,
    CommandFailed,
    one_line,
    say,
)

CELL_TYPES = ("code", "markdown", "raw")
MODES = ("default", "exact")


def add_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="run a notebook headless under the heapscope kernel and write its heap ledger",
        description="Run NOTEBOOK under the heapscope kernel and write the per-cell heap ledger as JSON "
        "(schema: protocol/report.schema.json) and/or as a self-contained HTML page. The notebook is not modified.",
        epilog=EXIT_STATUS_HELP,
    )
    report.add_argument("notebook", help="the .ipynb file to run (it is not modified)")
    report.add_argument("--json", metavar="OUT.json", help="where to write the JSON report")
    report.add_argument(
        "--html", metavar="OUT.html", help="where to write the self-contained HTML report (opens offline)"
    )
    report.add_argument(
        "--mode", choices=MODES, default=None, help="attribution mode (default: $HEAPSCOPE_MODE or 'default')"
    )
    report.add_argument(
        "--allow-errors",
        action="store_true",
        help="run every cell even after one raises (the report marks the cells that failed; the exit status "
        "is still 1)",
    )
    report.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS", help="per-cell time limit (default: none)"
    )
    report.add_argument(
        "--startup-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the kernel to start (default: 60)",
    )
    report.add_argument("--kernel", default="heapscope", help="kernelspec name (default: heapscope)")
    report.add_argument(
        "--guard",
        choices=("on", "off"),
        default=None,
        help="the memory guard: a cell that would cross 95 %% of the kernel's memory limit gets MemoryError "
        "instead of the kernel being killed (default: $HEAPSCOPE_GUARD or on)",
    )
    report.add_argument(
        "--no-holders",
        action="store_true",
        help="do not compute who holds the heap after the last cell (the report's `holders`: what deleting each "
        "name, output or the last traceback would free)",
    )
    report.add_argument(
        "--max-peak",
        metavar="SIZE",
        default=None,
        help="memory budget of every code cell: peak added during the cell (e.g. '2 GB', 500MB, 1.5GiB); a "
        'cell\'s metadata {"heapscope": {"max_peak": ...}} wins. Over budget: exit status 4',
    )
    report.add_argument(
        "--max-retained",
        metavar="SIZE",
        default=None,
        help="memory budget of every code cell: heap the cell still holds when the notebook ends; a cell's "
        "metadata heapscope.max_retained wins. Over budget: exit status 4",
    )
    report.set_defaults(handler=cmd_report)


# --- checks before running ----------------------------------------------------------------------


def check_outputs(json_out: Optional[str], html_out: Optional[str]) -> None:
    from ..files import check_writable

    if not json_out and not html_out:
        raise BadInput("give --json OUT.json and/or --html OUT.html")
    if json_out and html_out and os.path.abspath(json_out) == os.path.abspath(html_out):
        raise BadInput(f"--json and --html name the same file: {json_out}")
    for option, out in (("--json", json_out), ("--html", html_out)):
        if out:
            problem = check_writable(out)
            if problem is not None:
                raise BadInput(f"cannot write {option} {out}: {problem}")


def read_notebook(path: Path) -> Any:
    """The notebook (nbformat 4), or :class:`BadInput` naming what is wrong with it."""
    # The command line's dependencies are an extra: a kernel-only install (e.g. beside a gateway, which pins
    # jupyter_client<7, where nbclient's async client fails) lacks them.
    try:
        import jupyter_client
        import nbclient  # noqa: F401
        import nbformat
    except ImportError as exc:
        raise BadInput(f"heapscope report needs the cli extra ({exc}): pip install 'heapscope[cli]'") from None
    if int(jupyter_client.__version__.split(".")[0]) < 7:
        raise BadInput(
            f"heapscope report needs jupyter_client >= 7 (this environment has {jupyter_client.__version__}): "
            "pip install 'heapscope[cli]' in another environment"
        )

    if not path.is_file():
        raise BadInput(f"cannot read {path}: " + ("it is a folder" if path.is_dir() else "no such file"))
    try:
        nb = nbformat.read(str(path), as_version=4)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {one_line(exc.strerror or exc)}") from None
    except Exception as exc:  # not JSON, JSON that is no notebook, an nbformat it cannot convert
        raise BadInput(f"cannot read {path}: not a Jupyter notebook ({one_line(exc)})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise BadInput(f"cannot read {path}: not a Jupyter notebook (no list of cells)")
    for index, cell in enumerate(cells):
        where = f"{path}: cell [{index}]"
        if not isinstance(cell, dict):
            raise BadInput(f"{where} is not a cell (a JSON object)")
        cell_type = cell.get("cell_type")
        if cell_type not in CELL_TYPES:
            raise BadInput(
                f"{where} has the unknown cell type {one_line(repr(cell_type), 60)} (known: {', '.join(CELL_TYPES)})"
            )
        if not isinstance(cell.get("source"), str):
            raise BadInput(f"{where}: its source is {type(cell.get('source')).__name__}, not text")
        if not isinstance(cell.get("metadata", {}), dict):
            raise BadInput(f"{where}: its metadata is not a JSON object")
    return nb


def check_kernel(name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise BadInput(f"no kernelspec named {name!r} (install one with `heapscope install-kernel`)") from None


# --- the command --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What :func:`report_notebook` did: the exit status, the report (``None`` when nothing was run or
    written) and the broken budgets (their :meth:`~heapscope.budgets.Violation.line` is what is printed)."""

    status: int
    report: Optional[Dict[str, Any]] = None
    violations: List[Any] = field(default_factory=list)
    #: The last line said about the run (its failure, or where the report went).
    message: str = ""


def command_line_budget(max_peak: Optional[str], max_retained: Optional[str]) -> Dict[str, Optional[int]]:
    """The budget ``--max-peak`` / ``--max-retained`` give every cell (:class:`BadInput` for a bad size)."""
    from ..budgets import BudgetError, parse_limit

    try:
        return {
            "max_peak": parse_limit(max_peak, "--max-peak"),
            "max_retained": parse_limit(max_retained, "--max-retained"),
        }
    except BudgetError as exc:
        raise BadInput(str(exc)) from None


def report_notebook(
    path: Path,
    *,
    json_out: Optional[str] = None,
    html_out: Optional[str] = None,
    kernel: str = "heapscope",
    mode: Optional[str] = None,
    timeout: Optional[float] = None,
    startup_timeout: float = 60.0,
    allow_errors: bool = False,
    max_peak: Optional[str] = None,
    max_retained: Optional[str] = None,
    holders: bool = True,
    guard: Optional[str] = None,
) -> Outcome:
    """``heapscope report`` as a function (the pytest plugin runs notebooks with it): checks every input,
    runs the notebook, applies the budgets, writes the outputs and says what happened on stderr."""
    from ..budgets import BudgetError, notebook_budgets

    try:
        check_outputs(json_out, html_out)
        if timeout is not None and not timeout > 0:
            raise BadInput(f"--timeout must be a positive number of seconds, not {timeout}")
        defaults = command_line_budget(max_peak, max_retained)
        nb = read_notebook(path)
        try:
            budgets = notebook_budgets(nb.cells, defaults, str(path))
        except BudgetError as exc:
            raise BadInput(str(exc)) from None
        check_kernel(kernel)
        template = _html_template() if html_out else None
    except BadInput as exc:
        say(str(exc))
        return Outcome(EXIT_BAD_INPUT, message=str(exc))

    env: Optional[Dict[str, str]] = None
    if mode:
        from .._env import MODE

        env = {**os.environ, MODE: mode}
    if guard:
        from ..agent.guard import GUARD_ENV

        env = {**(env or os.environ), GUARD_ENV: guard}
    try:
        import asyncio  # (here: `heapscope run` never needs it, and it costs ~40 ms to import)

        from .notebook import run_notebook

        run = asyncio.run(
            run_notebook(
                nb,
                path.resolve().parent,
                kernel,
                timeout,
                startup_timeout,
                allow_errors=allow_errors,
                env=env,
                holders=holders,
            )
        )
    except CommandFailed as exc:
        say(str(exc))
        return Outcome(EXIT_FAILED, message=str(exc))
    except Exception as exc:  # a kernel that never starts, ...
        message = f"could not run {path} with kernel '{kernel}': {type(exc).__name__}: {one_line(exc)}"
        say(message)
        return Outcome(EXIT_BAD_INPUT, message=message)
    run.name_cells()
    return _write(path, kernel, json_out, html_out, run, template, budgets, holders)


def cmd_report(args: argparse.Namespace) -> int:
    return report_notebook(
        Path(args.notebook),
        json_out=args.json,
        html_out=args.html,
        kernel=args.kernel,
        mode=args.mode,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=args.allow_errors,
        max_peak=args.max_peak,
        max_retained=args.max_retained,
        holders=not args.no_holders,
        guard=args.guard,
    ).status


def _html_template() -> str:
    from ..html_report import ReportTemplateMissing, load_template

    try:
        return load_template()
    except ReportTemplateMissing as exc:
        raise BadInput(str(exc)) from None


def _write(
    path: Path,
    kernel: str,
    json_out: Optional[str],
    html_out: Optional[str],
    run: Any,
    template: Optional[str],
    budgets: Dict[int, Dict[str, Optional[int]]],
    holders: bool = True,
) -> Outcome:
    from .. import __version__
    from ..budgets import apply_budgets
    from ..html_report import write_html
    from ..report import NO_HOLDERS, build_report, write_json

    report = build_report(
        cells=run.cells,
        target_kind="notebook",
        target_path=str(path),
        kernel_name=kernel,
        kernel_status=run.kernel_status,
        outcome=run.outcome,
        message=run.message,
        failed_cell=run.failed_cell,
        version=__version__,
        retained_by_cell=run.retained_by_cell,
        holders=run.holders if holders else NO_HOLDERS,
    )
    violations = apply_budgets(report, budgets)
    outputs: List[str] = []
    for out, write in ((json_out, write_json), (html_out, lambda r, p: write_html(r, p, template))):
        if not out:
            continue
        try:
            write(report, Path(out))
        except OSError as exc:
            message = f"cannot write {out}: {one_line(exc.strerror or exc)}"
            say(message)
            return Outcome(EXIT_BAD_INPUT, report, violations, message)
        outputs.append(out)
    where = " and ".join(outputs)
    ran = sum(1 for c in run.cells if c.get("index") is not None)
    for violation in violations:
        say(violation.line())
    if run.outcome == "ok":
        message = f"wrote {ran} cells to {where}"
        say(message)
        if violations:
            cells = len({v.index for v in violations})
            message = f"{cells} cell{'s' if cells > 1 else ''} over budget"
            say(message)
            return Outcome(EXIT_OVER_BUDGET, report, violations, message)
        return Outcome(EXIT_OK, report, violations, message)
    say(f"{run.message}" + (f" ({run.failures} cells failed)" if run.failures > 1 else ""))
    say(f"wrote the {ran} cells that ran to {where}")
    status = EXIT_UNPROFILED if run.outcome == "unprofiled" else EXIT_FAILED
    return Outcome(status, report, violations, str(run.message))
