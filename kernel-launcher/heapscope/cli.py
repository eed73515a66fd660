"""The ``heapscope`` command.

``heapscope report NOTEBOOK.ipynb --json OUT.json`` runs the notebook headless under the heapscope
kernel (nbclient) and writes the per-cell ledger. After each cell it reads the agent's ledger with a
silent execute (``user_expressions``; silent executions fire no cell hooks), so a notebook that fails
or a kernel that dies mid-way still leaves a report of the cells that ran.
Exit status: 0 all cells ran; 1 a cell failed, timed out or the kernel died (the report holds the cells
that ran); 2 bad arguments, unreadable notebook or no kernel; 3 the kernel ran unprofiled.

``heapscope run [--mode M] SCRIPT.py [args...] --json OUT.json`` profiles a script with the same engine
(:mod:`heapscope.runner`) and exits with the script's status.

``heapscope install-kernel --python PATH [--name NAME] [--prefix PREFIX | --user]`` installs a kernelspec
that runs the heapscope kernel with that interpreter (which must have heapscope installed).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import __version__
from .html_report import ReportTemplateMissing, write_html
from .report import build_report, format_bytes, write_json

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNPROFILED = 0, 1, 2, 3
FETCH_TIMEOUT = 60.0
_EXPRESSION = "__import__('heapscope.agent', fromlist=['snapshot_json']).snapshot_json({since}, {retained})"


class ReportError(Exception):
    """A problem that ends the run with a message."""


def _say(text: str) -> None:
    print(f"heapscope: {text}", file=sys.stderr, flush=True)


# --- talking to the agent -------------------------------------------------------------------------

async def fetch_snapshot(kc: Any, since: int, timeout: float = FETCH_TIMEOUT,
                         retained: bool = False) -> Dict[str, Any]:
    """The agent's ledger after ``since`` (see ``heapscope.agent.snapshot_json``)."""
    import asyncio  # imported by the caller's asyncio.run already; not at module level (see cmd_report)

    deadline = time.monotonic() + timeout
    expression = _EXPRESSION.format(since=int(since), retained=bool(retained))
    while True:
        msg_id = kc.execute("", silent=True, store_history=False, user_expressions={"heapscope": expression})
        reply = await _reply(kc, msg_id, deadline)
        content = reply["content"]
        if content.get("status") == "aborted":  # the kernel is still aborting after a failed cell
            await asyncio.sleep(0.2)
            continue
        value = content.get("user_expressions", {}).get("heapscope", {})
        if value.get("status") != "ok":
            raise ReportError("could not read the heapscope ledger from the kernel: "
                              f"{value.get('ename', '?')}: {value.get('evalue', content.get('status'))}")
        return json.loads(ast.literal_eval(value["data"]["text/plain"]))


async def _reply(kc: Any, msg_id: str, deadline: float) -> Dict[str, Any]:
    from queue import Empty

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ReportError("the kernel did not answer a request for the heapscope ledger in time")
        try:
            msg = await kc.shell_channel.get_msg(timeout=min(left, 1.0))
        except Empty:
            if not await kc.is_alive():
                raise ReportError("the kernel died") from None
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


# --- running a notebook ---------------------------------------------------------------------------

@dataclass
class Run:
    """What a run learned: the kernel's status, the cells (mapped to the notebook), how it ended."""

    kernel_status: Optional[Dict[str, Any]] = None
    cells: List[Dict[str, Any]] = field(default_factory=list)
    retained_by_cell: Optional[List[Dict[str, Any]]] = None
    #: execution count -> notebook cell id (nbclient sends no cellId: sites are mapped afterwards)
    cell_ids: Dict[int, str] = field(default_factory=dict)
    last_seq: int = 0
    outcome: str = "ok"
    message: Optional[str] = None
    failed_cell: Optional[Dict[str, Any]] = None

    def fail(self, outcome: str, message: str, failed_cell: Optional[Dict[str, Any]] = None) -> None:
        self.outcome, self.message, self.failed_cell = outcome, message, failed_cell

    def add(self, snapshot: Dict[str, Any], index: Optional[int], cell: Any) -> None:
        """Add the finished cells of a snapshot; the one with the notebook cell's execution count is it."""
        self.kernel_status = snapshot.get("status", self.kernel_status)
        if "retained_by_cell" in snapshot:
            self.retained_by_cell = snapshot["retained_by_cell"]
        for record in snapshot.get("cells", []):
            self.last_seq = max(self.last_seq, int(record.get("seq", 0)))
            mine = cell is not None and record.get("execution_count") == cell.get("execution_count")
            record["index"] = index if mine else None
            if mine and cell.get("id"):
                record["cell_id"] = cell["id"]
                if isinstance(record.get("execution_count"), int):
                    self.cell_ids[record["execution_count"]] = cell["id"]
            self.cells.append(record)

    def name_cells(self) -> None:
        """Give every site, frame and retained entry that points at a notebook cell that cell's id."""
        def fill(obj: Any) -> None:
            if isinstance(obj, list):
                for item in obj:
                    fill(item)
            elif isinstance(obj, dict):
                if obj.get("cell_id") is None and obj.get("execution_count") in self.cell_ids:
                    obj["cell_id"] = self.cell_ids[obj["execution_count"]]
                for key in ("top_at_peak", "retained", "stack", "sites"):
                    if key in obj:
                        fill(obj[key])
        fill(self.cells)
        fill(self.retained_by_cell)


def _describe(cell: Any, index: int) -> str:
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    first = first if len(first) <= 50 else first[:47] + "..."
    return f"cell [{index}]" + (f" id={cell['id']}" if cell.get("id") else "") + f": {first}"


def _summary(record: Dict[str, Any]) -> str:
    start = record["start_bytes"]
    return (f"{format_bytes(record['end_bytes'] - start, signed=True)} · "
            f"peak {format_bytes(record['peak_bytes'] - start, signed=True)}")


async def run_notebook(nb: Any, notebook_dir: Path, kernel_name: str, timeout: Optional[float],
                       startup_timeout: float) -> Run:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = NotebookClient(nb, kernel_name=kernel_name, timeout=timeout, startup_timeout=startup_timeout,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(notebook_dir)}})
    todo = [(i, c) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and c.source.strip()
            and client.skip_cells_with_tag not in c.get("metadata", {}).get("tags", [])]
    run = Run()
    async with client.async_setup_kernel():
        assert client.kc is not None
        first = await fetch_snapshot(client.kc, 0)
        if not first.get("loaded"):
            run.fail("unprofiled", f"the heapscope agent is not loaded in kernel '{kernel_name}'")
            return run
        run.add(first, None, None)
        if not run.kernel_status or not run.kernel_status.get("active"):
            reason = (run.kernel_status or {}).get("reason") or "unknown reason"
            run.fail("unprofiled", f"the kernel runs unprofiled: {reason}")
            return run
        for n, (index, cell) in enumerate(todo, 1):
            _say(f"[{n}/{len(todo)}] {_describe(cell, index)}")
            where = {"index": index, "cell_id": cell.get("id")}
            try:
                await client.async_execute_cell(cell, index)
            except DeadKernelError:
                run.fail("error", f"the kernel died while running cell {n}/{len(todo)} "
                                  "(out of memory? see the kernel's log)", where)
                return run
            except CellTimeoutError:
                run.fail("error", f"cell {n}/{len(todo)} did not finish within {timeout} s", where)
            except CellExecutionError as exc:
                ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", "")
                run.fail("error", f"cell {n}/{len(todo)} raised {ename}: {evalue}", where)
            try:
                before = len(run.cells)
                last = n == len(todo) or run.outcome != "ok"
                run.add(await fetch_snapshot(client.kc, run.last_seq, retained=last), index, cell)
                for record in run.cells[before:]:
                    if record.get("index") == index:
                        _say(f"    {_summary(record)}")
            except ReportError as exc:
                if run.outcome == "ok":
                    run.fail("error", str(exc), where)
                return run
            if run.outcome != "ok":
                return run
    return run


# --- commands -------------------------------------------------------------------------------------

def cmd_report(args: argparse.Namespace) -> int:
    import nbformat

    if not args.json and not args.html:
        _say("heapscope report: give --json OUT.json and/or --html OUT.html")
        return EXIT_USAGE
    path = Path(args.notebook)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError) as exc:
        _say(f"cannot read {path}: {exc}")
        return EXIT_USAGE
    try:
        import asyncio  # (here: `heapscope run` never needs it, and it costs ~40 ms to import)

        run = asyncio.run(run_notebook(nb, path.resolve().parent, args.kernel, args.timeout,
                                       args.startup_timeout))
    except ReportError as exc:
        _say(str(exc))
        return EXIT_FAILED
    except Exception as exc:  # NoSuchKernel, a kernel that never starts, ...
        _say(f"could not run {path} with kernel '{args.kernel}': {type(exc).__name__}: {exc}")
        return EXIT_USAGE
    run.name_cells()
    report = build_report(cells=run.cells, target_kind="notebook", target_path=str(path),
                          kernel_name=args.kernel, kernel_status=run.kernel_status, outcome=run.outcome,
                          message=run.message, failed_cell=run.failed_cell, version=__version__,
                          retained_by_cell=run.retained_by_cell)
    outputs = []
    if args.json:
        write_json(report, Path(args.json))
        outputs.append(args.json)
    if args.html:
        try:
            write_html(report, Path(args.html))
        except ReportTemplateMissing as exc:
            _say(str(exc))
            return EXIT_USAGE
        outputs.append(args.html)
    where = " and ".join(outputs)
    ran = sum(1 for c in run.cells if c.get("index") is not None)
    if run.outcome == "ok":
        _say(f"wrote {ran} cells to {where}")
        return EXIT_OK
    _say(f"{run.message}")
    _say(f"wrote the {ran} cells that ran to {where}")
    return EXIT_UNPROFILED if run.outcome == "unprofiled" else EXIT_FAILED


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
    import os

    from .launcher import kernel_environment

    script = Path(args.script)
    if not script.is_file():
        _say(f"no such script: {script}")
        return EXIT_USAGE
    env, problem = kernel_environment(os.environ)
    if problem is not None:
        _say(problem.replace("the kernel runs unprofiled", "the script runs unprofiled"))
    if args.mode:
        env["HEAPSCOPE_MODE"] = args.mode
    command = [sys.executable, "-m", "heapscope.runner", "--json", str(Path(args.json).resolve()),
               str(script), *args.args]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return EXIT_USAGE  # not reached


def cmd_install_kernel(args: argparse.Namespace) -> int:
    import json
    import shutil
    import subprocess
    import tempfile

    python = Path(args.python)
    if not python.is_absolute():
        python = Path(shutil.which(str(python)) or python).absolute()
    check = subprocess.run([str(python), "-c", "import heapscope.launcher, ipykernel, sys; print(sys.version.split()[0])"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        _say(f"{python} cannot run the heapscope kernel (install heapscope and ipykernel into it): "
             f"{(check.stderr.strip().splitlines() or ['?'])[-1]}")
        return EXIT_USAGE
    version = check.stdout.strip()
    from jupyter_client.kernelspec import KernelSpecManager

    logos = [p for p in (Path(sys.prefix) / "share" / "jupyter" / "kernels" / "heapscope").glob("logo-*")]
    with tempfile.TemporaryDirectory() as tmp:
        spec = {
            "argv": [str(python), "-m", "heapscope.launcher", "-f", "{connection_file}"],
            "display_name": args.display_name or f"Python {version} (heapscope)",
            "language": "python",
            "interrupt_mode": "signal",
            "metadata": {"debugger": True},
            "kernel_protocol_version": "5.5",
        }
        (Path(tmp) / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
        for logo in logos:
            shutil.copy(logo, tmp)
        dest = KernelSpecManager().install_kernel_spec(tmp, args.name, user=args.user,
                                                        prefix=None if args.user else args.prefix)
    _say(f"installed kernelspec {args.name!r} ({spec['display_name']}) in {dest}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="heapscope", description="Per-cell heap profiler for Jupyter.")
    parser.add_argument("--version", action="version", version=f"heapscope {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = commands.add_parser(
        "report", help="run a notebook headless under the heapscope kernel and write its heap ledger",
        description="Run NOTEBOOK under the heapscope kernel and write the per-cell heap ledger as JSON "
                    "(schema: docs/report-schema.json). Exit status: 0 all cells ran; 1 a cell failed or "
                    "the kernel died (the report holds the cells that ran); 2 bad input or no kernel; "
                    "3 the kernel ran unprofiled.")
    report.add_argument("notebook", help="the .ipynb file to run (it is not modified)")
    report.add_argument("--json", metavar="OUT.json", help="where to write the JSON report")
    report.add_argument("--html", metavar="OUT.html",
                        help="where to write the self-contained HTML report (opens offline)")
    report.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="per-cell time limit (default: none)")
    report.add_argument("--startup-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long to wait for the kernel to start (default: 60)")
    report.add_argument("--kernel", default="heapscope", help="kernelspec name (default: heapscope)")
    report.set_defaults(handler=cmd_report)

    run = commands.add_parser(
        "run", help="profile a Python script and write the same report",
        usage="heapscope run [--mode {default,exact}] SCRIPT.py [args ...] --json OUT.json",
        description="Run SCRIPT.py with the heapscope engine, the whole run as one cell, and write the report "
                    "(schema: docs/report-schema.json) - also when the script raises. Exits with the "
                    "script's exit status. A trailing `--json OUT.json` is heapscope's; to pass --json to "
                    "the script, give heapscope's before SCRIPT.")
    run.add_argument("--json", required=True, metavar="OUT.json", help="where to write the report")
    run.add_argument("--mode", choices=("default", "exact"), default=None,
                     help="attribution mode (default: $HEAPSCOPE_MODE or 'default')")
    run.add_argument("script", metavar="SCRIPT.py")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    run.set_defaults(handler=cmd_run)

    kernel = commands.add_parser(
        "install-kernel", help="install a heapscope kernelspec for a given Python interpreter",
        description="Install a kernelspec whose kernel runs `PYTHON -m heapscope.launcher` (absolute path), "
                    "for an interpreter that has heapscope and ipykernel installed.")
    kernel.add_argument("--python", required=True, metavar="PATH", help="the interpreter (e.g. a venv's bin/python)")
    kernel.add_argument("--name", default="heapscope", help="kernelspec name (default: heapscope)")
    kernel.add_argument("--display-name", default=None, help="default: 'Python X.Y.Z (heapscope)'")
    where = kernel.add_mutually_exclusive_group()
    where.add_argument("--prefix", default=sys.prefix, help="install under PREFIX/share/jupyter/kernels "
                                                            "(default: this environment)")
    where.add_argument("--user", action="store_true", help="install for the current user")
    kernel.set_defaults(handler=cmd_install_kernel)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        argv = ["run", *split_run_args(argv[1:])]
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
