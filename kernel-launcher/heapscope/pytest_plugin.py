"""The pytest plugin (entry point ``heapscope``): ``pytest --heapscope NOTEBOOK.ipynb …`` runs each notebook
under the heapscope kernel as one test, applies the memory budgets and writes its reports (docs/ci.md).

- Collects every ``*.ipynb`` pytest is given or finds (not in ``.ipynb_checkpoints`` or ``_build``), one
  test item per notebook, run as ``heapscope report`` runs it (:func:`heapscope.cli.report.report_notebook`):
  a cell that raises fails the test, and so does a cell over its budget (the cell's metadata
  ``heapscope.max_peak`` / ``heapscope.max_retained``, else ``--heapscope-max-peak`` /
  ``--heapscope-max-retained``), with the same lines as the CLI:
  ``cell [7] df = pd.read_csv(…): peak +2.4 GB > budget 2 GB``.
- Reports: ``NAME.json`` and ``NAME.html`` in ``--heapscope-report-dir`` (default: the folder of
  ``--junitxml`` when given, else ``ROOTDIR/heapscope-reports``); NAME is the notebook's path under the
  rootdir with ``/`` written ``__`` (``notebooks/a.ipynb`` -> ``notebooks__a.json``).
- With nbmake (``pytest --nbmake --heapscope``): heapscope takes the notebooks. nbmake's collector for a
  notebook heapscope collects is dropped, so each notebook runs once, under the heapscope kernel; nbmake's
  ``--nbmake-timeout`` is the per-cell time limit unless ``--heapscope-timeout`` is given. ``--nbmake``
  alone is untouched.

Importing this module costs nothing beyond pytest: the notebook machinery is imported when a test runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List

import pytest

_SKIPPED_FOLDERS = (".ipynb_checkpoints", "_build")
#: The collection hook takes ``file_path`` (pytest 7): on an older pytest the plugin collects nothing and
#: ``--heapscope`` says so (defining the hook there would break every pytest run of that environment).
SUPPORTED = int(pytest.__version__.split(".")[0]) >= 7


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("heapscope", "notebook memory budgets (heapscope)")
    group.addoption(
        "--heapscope",
        action="store_true",
        default=False,
        help="run each collected .ipynb under the heapscope kernel as a test, with memory budgets",
    )
    group.addoption(
        "--heapscope-max-peak",
        metavar="SIZE",
        default=None,
        help="budget of every code cell: peak added during the cell (e.g. '2 GB'); a cell's metadata wins",
    )
    group.addoption(
        "--heapscope-max-retained",
        metavar="SIZE",
        default=None,
        help="budget of every code cell: heap it still holds when the notebook ends; a cell's metadata wins",
    )
    group.addoption(
        "--heapscope-report-dir",
        metavar="DIR",
        default=None,
        help="where the JSON and HTML reports go (default: --junitxml's folder, else ROOTDIR/heapscope-reports)",
    )
    group.addoption("--heapscope-kernel", default="heapscope", help="kernelspec name (default: heapscope)")
    group.addoption(
        "--heapscope-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per-cell time limit (default: --nbmake-timeout with --nbmake, else none)",
    )


def pytest_configure(config: Any) -> None:
    if not config.getoption("heapscope"):
        return
    if not SUPPORTED:
        raise pytest.UsageError(f"--heapscope needs pytest 7 or later (this is pytest {pytest.__version__})")
    from .budgets import BudgetError, parse_limit

    for option in ("--heapscope-max-peak", "--heapscope-max-retained"):
        try:
            parse_limit(config.getoption(option.lstrip("-").replace("-", "_")), option)
        except BudgetError as exc:
            raise pytest.UsageError(str(exc)) from None
    timeout = config.getoption("heapscope_timeout")
    if timeout is not None and not timeout > 0:
        raise pytest.UsageError(f"--heapscope-timeout must be a positive number of seconds, not {timeout}")


def _collects(config: Any, file_path: Path) -> bool:
    return (
        bool(config.getoption("heapscope"))
        and file_path.suffix == ".ipynb"
        and not any(part in _SKIPPED_FOLDERS for part in file_path.parts)
    )


if SUPPORTED:

    @pytest.hookimpl(hookwrapper=True)
    def pytest_collect_file(file_path: Path, parent: Any) -> Any:
        """Collect a notebook as :class:`NotebookFile`, and drop nbmake's collector of the same notebook."""
        outcome = yield
        if not _collects(parent.config, file_path):
            return
        others = [c for c in (outcome.get_result() or []) if not type(c).__module__.startswith("nbmake")]
        outcome.force_result([*others, NotebookFile.from_parent(parent, path=file_path)])


class NotebookFile(pytest.File):
    def collect(self) -> Any:
        yield NotebookItem.from_parent(self, name=self.path.name)


class BudgetFailure(Exception):
    """A notebook that failed under heapscope: the message is what the CLI says."""


class NotebookItem(pytest.Item):
    """One notebook, run by ``heapscope report``."""

    def report_paths(self) -> Dict[str, Path]:
        folder = report_dir(self.config)
        try:
            relative = self.path.resolve().relative_to(Path(str(self.config.rootpath)).resolve())
        except ValueError:
            relative = Path(self.path.name)
        stem = "__".join(relative.with_suffix("").parts)
        return {"json": folder / f"{stem}.json", "html": folder / f"{stem}.html"}

    def runtest(self) -> None:
        from .cli.common import EXIT_OK, EXIT_OVER_BUDGET
        from .cli.report import report_notebook

        paths = self.report_paths()
        paths["json"].parent.mkdir(parents=True, exist_ok=True)
        config = self.config
        timeout = config.getoption("heapscope_timeout")
        if timeout is None and config.getoption("nbmake", default=False):
            timeout = float(config.getoption("nbmake_timeout", default=300) or 0) or None
        outcome = report_notebook(
            self.path,
            json_out=str(paths["json"]),
            html_out=str(paths["html"]) if _html_available() else None,
            kernel=config.getoption("heapscope_kernel"),
            timeout=timeout,
            max_peak=config.getoption("heapscope_max_peak"),
            max_retained=config.getoption("heapscope_max_retained"),
        )
        if outcome.report is not None:
            for kind, path in paths.items():
                if path.exists():
                    self.user_properties.append((f"heapscope_{kind}", str(path)))
        if outcome.status == EXIT_OK:
            return
        lines: List[str] = [v.line() for v in outcome.violations]
        if outcome.status != EXIT_OVER_BUDGET or not lines:  # a failure (or bad input) says why first
            lines.insert(0, outcome.message)
        if outcome.report is not None:
            shown = [str(p) for p in (paths["html"], paths["json"]) if p.exists()]
            lines.append(f"report: {shown[0]}" + (f" ({shown[1]})" if len(shown) > 1 else ""))
        raise BudgetFailure("\n".join(lines))

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        if isinstance(excinfo.value, BudgetFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> Any:
        return self.path, None, f"heapscope: {self.path.name}"


def _html_available() -> bool:
    """Whether this heapscope was built with the HTML report's template (a wheel built without the
    labextension has none: the plugin then writes the JSON report only, where the CLI refuses --html)."""
    from .html_report import ReportTemplateMissing, load_template

    try:
        load_template()
    except ReportTemplateMissing:
        return False
    return True


def report_dir(config: Any) -> Path:
    """Where the reports go: ``--heapscope-report-dir``, else ``--junitxml``'s folder, else
    ``ROOTDIR/heapscope-reports``."""
    chosen = config.getoption("heapscope_report_dir")
    if chosen:
        return Path(os.path.abspath(chosen))
    junit = config.getoption("xmlpath", default=None)
    if junit:
        return Path(os.path.abspath(junit)).parent
    return Path(str(config.rootpath)) / "heapscope-reports"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    if config.getoption("heapscope"):
        folder = report_dir(config)
        if folder.is_dir():
            terminalreporter.write_line(f"heapscope: reports in {folder}")
