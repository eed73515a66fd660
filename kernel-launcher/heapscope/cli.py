"""The ``heapscope`` command.

``heapscope report NOTEBOOK.ipynb --json OUT.json`` runs the notebook headless under the heapscope
kernel (nbclient) and writes the per-cell ledger. After each cell it reads the agent's ledger with a
silent execute (``user_expressions``; silent executions fire no cell hooks), so a notebook that fails
or a kernel that dies mid-way still leaves a report of the cells that ran.

Exit status: 0 all cells ran; 1 a cell failed, timed out or the kernel died (the report holds the cells
that ran); 2 bad arguments, unreadable notebook or no kernel; 3 the kernel ran unprofiled.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import __version__
from .report import build_report, format_bytes, write_json

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNPROFILED = 0, 1, 2, 3
FETCH_TIMEOUT = 60.0
_EXPRESSION = "__import__('heapscope.agent', fromlist=['snapshot_json']).snapshot_json({since})"


class ReportError(Exception):
    """A problem that ends the run with a message."""


def _say(text: str) -> None:
    print(f"heapscope: {text}", file=sys.stderr, flush=True)


# --- talking to the agent -------------------------------------------------------------------------

async def fetch_snapshot(kc: Any, since: int, timeout: float = FETCH_TIMEOUT) -> Dict[str, Any]:
    """The agent's ledger after ``since`` (see ``heapscope.agent.snapshot_json``)."""
    deadline = time.monotonic() + timeout
    while True:
        msg_id = kc.execute("", silent=True, store_history=False,
                            user_expressions={"heapscope": _EXPRESSION.format(since=int(since))})
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
    last_seq: int = 0
    outcome: str = "ok"
    message: Optional[str] = None
    failed_cell: Optional[Dict[str, Any]] = None

    def fail(self, outcome: str, message: str, failed_cell: Optional[Dict[str, Any]] = None) -> None:
        self.outcome, self.message, self.failed_cell = outcome, message, failed_cell

    def add(self, snapshot: Dict[str, Any], index: Optional[int], cell: Any) -> None:
        """Add the finished cells of a snapshot; the one with the notebook cell's execution count is it."""
        self.kernel_status = snapshot.get("status", self.kernel_status)
        for record in snapshot.get("cells", []):
            self.last_seq = max(self.last_seq, int(record.get("seq", 0)))
            mine = cell is not None and record.get("execution_count") == cell.get("execution_count")
            record["index"] = index if mine else None
            if mine and cell.get("id"):
                record["cell_id"] = cell["id"]
            self.cells.append(record)


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
                run.add(await fetch_snapshot(client.kc, run.last_seq), index, cell)
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

    path = Path(args.notebook)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError) as exc:
        _say(f"cannot read {path}: {exc}")
        return EXIT_USAGE
    try:
        run = asyncio.run(run_notebook(nb, path.resolve().parent, args.kernel, args.timeout,
                                       args.startup_timeout))
    except ReportError as exc:
        _say(str(exc))
        return EXIT_FAILED
    except Exception as exc:  # NoSuchKernel, a kernel that never starts, ...
        _say(f"could not run {path} with kernel '{args.kernel}': {type(exc).__name__}: {exc}")
        return EXIT_USAGE
    report = build_report(cells=run.cells, target_kind="notebook", target_path=str(path),
                          kernel_name=args.kernel, kernel_status=run.kernel_status, outcome=run.outcome,
                          message=run.message, failed_cell=run.failed_cell, version=__version__)
    write_json(report, Path(args.json))
    ran = sum(1 for c in run.cells if c.get("index") is not None)
    if run.outcome == "ok":
        _say(f"wrote {ran} cells to {args.json}")
        return EXIT_OK
    _say(f"{run.message}")
    _say(f"wrote the {ran} cells that ran to {args.json}")
    return EXIT_UNPROFILED if run.outcome == "unprofiled" else EXIT_FAILED


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
    report.add_argument("--json", required=True, metavar="OUT.json", help="where to write the report")
    report.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="per-cell time limit (default: none)")
    report.add_argument("--startup-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long to wait for the kernel to start (default: 60)")
    report.add_argument("--kernel", default="heapscope", help="kernelspec name (default: heapscope)")
    report.set_defaults(handler=cmd_report)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
