"""``heapscope report NOTEBOOK.ipynb --json OUT.json [--html OUT.html]``: run a notebook headless under the
heapscope kernel and write its per-cell heap ledger.

Every input is checked before the kernel starts (the outputs' folders, the notebook's form, the kernel's
name): bad input is one line and exit status 2, never a traceback, and never after a long run."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from .common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
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
    import nbformat

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


def cmd_report(args: argparse.Namespace) -> int:
    path = Path(args.notebook)
    try:
        check_outputs(args.json, args.html)
        if args.timeout is not None and not args.timeout > 0:
            raise BadInput(f"--timeout must be a positive number of seconds, not {args.timeout}")
        nb = read_notebook(path)
        check_kernel(args.kernel)
        template = _html_template() if args.html else None
    except BadInput as exc:
        say(str(exc))
        return EXIT_BAD_INPUT

    env: Optional[Dict[str, str]] = None
    if args.mode:
        from .._env import MODE

        env = {**os.environ, MODE: args.mode}
    try:
        import asyncio  # (here: `heapscope run` never needs it, and it costs ~40 ms to import)

        from .notebook import run_notebook

        run = asyncio.run(
            run_notebook(
                nb,
                path.resolve().parent,
                args.kernel,
                args.timeout,
                args.startup_timeout,
                allow_errors=args.allow_errors,
                env=env,
            )
        )
    except CommandFailed as exc:
        say(str(exc))
        return EXIT_FAILED
    except Exception as exc:  # a kernel that never starts, ...
        say(f"could not run {path} with kernel '{args.kernel}': {type(exc).__name__}: {one_line(exc)}")
        return EXIT_BAD_INPUT
    run.name_cells()
    return _write(args, path, run, template)


def _html_template() -> str:
    from ..html_report import ReportTemplateMissing, load_template

    try:
        return load_template()
    except ReportTemplateMissing as exc:
        raise BadInput(str(exc)) from None


def _write(args: argparse.Namespace, path: Path, run: Any, template: Optional[str]) -> int:
    from .. import __version__
    from ..html_report import write_html
    from ..report import build_report, write_json

    report = build_report(
        cells=run.cells,
        target_kind="notebook",
        target_path=str(path),
        kernel_name=args.kernel,
        kernel_status=run.kernel_status,
        outcome=run.outcome,
        message=run.message,
        failed_cell=run.failed_cell,
        version=__version__,
        retained_by_cell=run.retained_by_cell,
    )
    outputs: List[str] = []
    for out, write in ((args.json, write_json), (args.html, lambda r, p: write_html(r, p, template))):
        if not out:
            continue
        try:
            write(report, Path(out))
        except OSError as exc:
            say(f"cannot write {out}: {one_line(exc.strerror or exc)}")
            return EXIT_BAD_INPUT
        outputs.append(out)
    where = " and ".join(outputs)
    ran = sum(1 for c in run.cells if c.get("index") is not None)
    if run.outcome == "ok":
        say(f"wrote {ran} cells to {where}")
        return EXIT_OK
    say(f"{run.message}" + (f" ({run.failures} cells failed)" if run.failures > 1 else ""))
    say(f"wrote the {ran} cells that ran to {where}")
    return EXIT_UNPROFILED if run.outcome == "unprofiled" else EXIT_FAILED
