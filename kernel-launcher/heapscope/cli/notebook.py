"""Running a notebook headless for ``heapscope report``: nbclient runs the cells; after each cell the agent's
ledger is read with a silent execute (``user_expressions``; silent executions fire no cell hooks), so a
notebook that fails or a kernel that dies mid-way still leaves a report of the cells that ran."""

from __future__ import annotations

import ast
import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Dict, List, Optional, TypeVar

from ..bytes_format import format_signed_bytes
from .common import CommandFailed, say

FETCH_TIMEOUT = 60.0
#: How often a pending ledger request checks that the kernel is still alive.
ALIVE_CHECK_INTERVAL = 0.5
_EXPRESSION = "__import__('heapscope.agent', fromlist=['snapshot_json']).snapshot_json({since}, {retained})"
_HOLDERS = "__import__('heapscope.agent.holders', fromlist=['holders_json']).holders_json()"
#: The holders scan walks what the user's names reach: allow it more time than a ledger read.
HOLDERS_TIMEOUT = 600.0

T = TypeVar("T")


async def _unless_kernel_dies(kc: Any, work: Awaitable[T]) -> T:
    """``await work``, but raise :class:`CommandFailed` as soon as the kernel is found dead."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=ALIVE_CHECK_INTERVAL)
            if done:
                return task.result()
            if not await kc.is_alive():
                raise CommandFailed("the kernel died")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def fetch_snapshot(kc: Any, since: int, timeout: float = FETCH_TIMEOUT, retained: bool = False) -> Dict[str, Any]:
    """The agent's ledger after ``since`` (see ``heapscope.agent.snapshot_json``).

    ``execute_interactive`` returns only once the kernel has said it is idle again: a kernel shut down right
    after this (``shutdown_kernel`` interrupts the kernel first) is no longer inside the request's handler,
    where the interrupt was logged as "KeyboardInterrupt caught in kernel."."""
    expression = _EXPRESSION.format(since=int(since), retained=bool(retained))
    return await _evaluate_json(kc, expression, timeout, "the heapscope ledger")


async def fetch_holders(kc: Any, timeout: float = HOLDERS_TIMEOUT) -> Optional[Dict[str, Any]]:
    """Who holds the heap now (``heapscope.agent.holders.holders_json``: the protocol's ``Holders``), or
    ``None`` when the kernel could not compute them."""
    return (await _evaluate_json(kc, _HOLDERS, timeout, "the holders of the heap")).get("holders")


async def _evaluate_json(kc: Any, expression: str, timeout: float, what: str) -> Dict[str, Any]:
    """The JSON text ``expression`` gives in the kernel, read with a silent execute's ``user_expressions``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise CommandFailed(f"the kernel did not answer a request for {what} in time")
        try:
            reply = await _unless_kernel_dies(
                kc,
                kc.execute_interactive(
                    "",
                    silent=True,
                    store_history=False,
                    user_expressions={"heapscope": expression},
                    allow_stdin=False,
                    stop_on_error=False,
                    timeout=left,
                    output_hook=lambda msg: None,
                ),
            )
        except TimeoutError:
            raise CommandFailed(f"the kernel did not answer a request for {what} in time") from None
        content = reply["content"]
        if content.get("status") == "aborted":  # the kernel is still aborting after a failed cell
            await asyncio.sleep(0.2)
            continue
        value = content.get("user_expressions", {}).get("heapscope", {})
        if value.get("status") != "ok":
            raise CommandFailed(
                f"could not read {what} from the kernel: "
                f"{value.get('ename', '?')}: {value.get('evalue', content.get('status'))}"
            )
        return json.loads(ast.literal_eval(value["data"]["text/plain"]))


@dataclass
class Run:
    """What a run learned: the kernel's status, the cells (mapped to the notebook), how it ended."""

    kernel_status: Optional[Dict[str, Any]] = None
    cells: List[Dict[str, Any]] = field(default_factory=list)
    retained_by_cell: Optional[List[Dict[str, Any]]] = None
    #: who holds the heap after the last cell (protocol ``Holders``), None when not computed
    holders: Optional[Dict[str, Any]] = None
    #: execution count -> notebook cell id (nbclient sends no cellId: sites are mapped afterwards)
    cell_ids: Dict[int, str] = field(default_factory=dict)
    last_seq: int = 0
    outcome: str = "ok"
    message: Optional[str] = None
    failed_cell: Optional[Dict[str, Any]] = None
    #: cells that raised (``--allow-errors`` runs on after them)
    failures: int = 0

    def fail(self, outcome: str, message: str, failed_cell: Optional[Dict[str, Any]] = None) -> None:
        """Record why the run failed; the first failure is the one the report names."""
        self.failures += 1
        if self.outcome == "ok":
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
        fill((self.holders or {}).get("holders"))


def describe(cell: Any, index: int) -> str:
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    first = first if len(first) <= 50 else first[:47] + "..."
    return f"cell [{index}]" + (f" id={cell['id']}" if cell.get("id") else "") + f": {first}"


def summary(record: Dict[str, Any]) -> str:
    start = record["start_bytes"]
    return (
        f"{format_signed_bytes(record['end_bytes'] - start)} · peak {format_signed_bytes(record['peak_bytes'] - start)}"
    )


def _cell_error(cell: Any) -> Optional[str]:
    """``ename: evalue`` of the error output a cell left (``--allow-errors`` raises nothing)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    return None


def _killed_run(client: Any, index: int, cell: Any) -> Optional[Dict[str, Any]]:
    """The run the kernel died in (status killed, post_mortem), from the snapshot it kept; None if none."""
    from ..agent.guard import dead_kernel_run

    km = getattr(client, "km", None)
    process = getattr(getattr(km, "provisioner", None), "process", None)
    code = process.poll() if process is not None and hasattr(process, "poll") else None
    try:
        dead = dead_kernel_run(getattr(km, "connection_file", None), code)
    except Exception:
        return None
    if dead is not None:
        dead["index"] = index
        if cell.get("id"):
            dead["cell_id"] = cell["id"]
    return dead


async def run_notebook(
    nb: Any,
    notebook_dir: Path,
    kernel_name: str,
    timeout: Optional[float],
    startup_timeout: float,
    allow_errors: bool = False,
    env: Optional[Dict[str, str]] = None,
    holders: bool = False,
) -> Run:
    """Run the notebook's code cells; ``env``: the kernel's environment (default: this process's); ``holders``:
    after the last cell, also ask who holds the heap (``Run.holders``)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=timeout,
        startup_timeout=startup_timeout,
        interrupt_on_timeout=True,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(notebook_dir)}},
    )
    todo = [
        (i, c)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and c.source.strip()
        and client.skip_cells_with_tag not in c.get("metadata", {}).get("tags", [])
    ]
    run = Run()
    async with client.async_setup_kernel(**({} if env is None else {"env": env})):
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
            say(f"[{n}/{len(todo)}] {describe(cell, index)}")
            where = {"index": index, "cell_id": cell.get("id")}
            stop = False
            try:
                await client.async_execute_cell(cell, index)
                error = _cell_error(cell) if allow_errors else None
                if error is not None:
                    say(f"    raised {error}")
                    run.fail("error", f"cell {n}/{len(todo)} raised {error}", where)
            except DeadKernelError:
                dead = _killed_run(client, index, cell)  # the post-mortem snapshot (agent/guard.py)
                if dead is not None:
                    from ..agent.guard import killed_message

                    run.cells.append(dead)
                    if isinstance(dead.get("execution_count"), int) and cell.get("id"):
                        run.cell_ids[dead["execution_count"]] = cell["id"]
                    message = f"the kernel died while running cell {n}/{len(todo)}: {killed_message(dead)}"
                else:
                    message = (
                        f"the kernel died while running cell {n}/{len(todo)} (out of memory? see the kernel's log)"
                    )
                say(message)
                run.fail("error", message, where)
                return run
            except CellTimeoutError:
                run.fail("error", f"cell {n}/{len(todo)} did not finish within {timeout} s", where)
                stop = not allow_errors
            except CellExecutionError as exc:
                ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", "")
                run.fail("error", f"cell {n}/{len(todo)} raised {ename}: {evalue}", where)
                stop = True
            try:
                before = len(run.cells)
                last = n == len(todo) or stop
                run.add(await fetch_snapshot(client.kc, run.last_seq, retained=last), index, cell)
                if last and holders:
                    try:
                        run.holders = await fetch_holders(client.kc)
                    except CommandFailed as exc:  # the report still has every cell
                        say(f"    no holders: {exc}")
                for record in run.cells[before:]:
                    if record.get("index") == index:
                        say(f"    {summary(record)}")
            except CommandFailed as exc:
                run.fail("error", str(exc), where)
                return run
            if stop:
                return run
    return run
