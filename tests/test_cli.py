"""The ``heapscope`` command's contract: exit statuses, one clear line for every bad input (checked before
any cell runs), ``--mode`` and ``--allow-errors``, a clean kernel shutdown, the kernelspec from one source,
and ``install-kernel`` refusing unsupported interpreters."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import nbformat
import pytest

from envs import unsupported_pythons
from heapscope.cli.install_kernel import default_spec_text, kernel_spec
from kernel_session import scrubbed_environ

ROOT = Path(__file__).resolve().parents[1]
HEAPSCOPE = Path(sys.executable).with_name("heapscope")


def heapscope(*args: str, env: Optional[dict] = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HEAPSCOPE), *args],
        env={**scrubbed_environ(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_notebook(path: Path, sources: List[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, str(path))
    return nb


# --- the kernelspec has one source -------------------------------------------------------------------


def test_packaged_kernel_json_is_generated_from_kernel_spec():
    text = (ROOT / "kernel-launcher" / "kernelspec" / "kernel.json").read_text()
    assert text == default_spec_text(), "kernel.json drifted from kernel_spec(): run scripts/kernelspec.sh"


def test_kernel_spec_keeps_only_what_the_interpreters_ipykernel_supports():
    assert "supported_encryption" not in kernel_spec()["metadata"]
    spec = kernel_spec("/x/python", "X", {"debugger": True, "supported_encryption": ["curve"]})
    assert spec["argv"][0] == "/x/python" and spec["metadata"]["supported_encryption"] == ["curve"]


def test_installed_kernel_json_is_the_packaged_one(installed):
    assert (installed / "kernel.json").read_text() == default_spec_text()


# --- exit statuses are documented ----------------------------------------------------------------------


def test_exit_statuses_are_in_the_help_and_the_readme(installed):
    helptext = " ".join(heapscope("report", "--help").stdout.split())
    readme = " ".join((ROOT / "README.md").read_text().split())
    for status, meaning in ((0, "every cell ran"), (1, "a cell failed"), (2, "bad input"), (3, "unprofiled")):
        assert re.search(rf"\b{status}\b[^0-9]*{meaning}", helptext), (status, helptext)
        assert re.search(rf"`{status}`[^`]*{meaning}", readme), f"README.md: exit status {status}"


# --- bad input: one line, exit 2, nothing run ------------------------------------------------------------


def _bad_inputs(tmp_path: Path):
    good = tmp_path / "good.ipynb"
    write_notebook(good, ["print('this must not run')"])
    out = str(tmp_path / "out.json")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    not_a_notebook = tmp_path / "object.ipynb"
    not_a_notebook.write_text('{"a": 1}')
    a_list = tmp_path / "list.ipynb"
    a_list.write_text("[1, 2]")
    not_json = tmp_path / "text.ipynb"
    not_json.write_text("{ not json")
    number_source = tmp_path / "number.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y")])
    nb.cells[1].source = 42
    number_source.write_text(json.dumps(nb))
    unknown_type = tmp_path / "unknown.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y")])
    nb.cells[1].cell_type = "sql"
    unknown_type.write_text(json.dumps(nb))
    return {
        "output is a folder": ([str(good), "--json", str(folder)], "is a folder"),
        "html output is a folder": ([str(good), "--html", str(folder)], "is a folder"),
        "output folder missing": ([str(good), "--json", str(tmp_path / "no" / "out.json")], "does not exist"),
        "same output twice": ([str(good), "--json", out, "--html", out], "same file"),
        "no output": ([str(good)], "--json"),
        "no notebook": ([str(tmp_path / "missing.ipynb"), "--json", out], "no such file"),
        "notebook is a folder": ([str(folder), "--json", out], "folder"),
        "JSON object, not a notebook": ([str(not_a_notebook), "--json", out], "not a Jupyter notebook"),
        "JSON list, not a notebook": ([str(a_list), "--json", out], "not a Jupyter notebook"),
        "not JSON": ([str(not_json), "--json", out], "not a Jupyter notebook"),
        "source is a number": ([str(number_source), "--json", out], "cell [1]: its source is int"),
        "unknown cell type": ([str(unknown_type), "--json", out], "unknown cell type 'sql'"),
        "no such kernel": ([str(good), "--json", out, "--kernel", "no-such-kernel-here"], "no kernelspec"),
        "bad timeout": ([str(good), "--json", out, "--timeout", "-1"], "--timeout"),
    }


def test_every_bad_input_is_one_line_and_exit_status_2(installed, tmp_path):
    failures = []
    for name, (args, expected) in _bad_inputs(tmp_path).items():
        run = heapscope("report", *args, timeout=120)
        lines = run.stderr.strip().splitlines()
        problems = []
        if run.returncode != 2:
            problems.append(f"exit {run.returncode}")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines")
        if "Traceback" in run.stderr or "[1/" in run.stderr:
            problems.append("traceback or a cell ran")
        if expected not in run.stderr:
            problems.append(f"no {expected!r}")
        if (tmp_path / "out.json").exists():
            problems.append("wrote out.json")
        if problems:
            failures.append(f"{name}: {', '.join(problems)}: {run.stderr.strip()[-300:]}")
    assert not failures, "\n".join(failures)


def test_an_output_that_cannot_be_written_is_refused_before_running(installed, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write into a read-only folder")
    nb = tmp_path / "nb.ipynb"
    write_notebook(nb, ["print('this must not run')"])
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    run = heapscope("report", str(nb), "--json", str(locked / "out.json"), timeout=120)
    assert run.returncode == 2 and "not writable" in run.stderr and "[1/" not in run.stderr


def test_run_refuses_an_output_it_cannot_write_before_running_the_script(installed, tmp_path):
    script = tmp_path / "s.py"
    marker = tmp_path / "ran"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    for out in (tmp_path, tmp_path / "missing" / "out.json"):
        run = heapscope("run", str(script), "--json", str(out), timeout=120)
        assert run.returncode == 2, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and "cannot write --json" in run.stderr
        assert not marker.exists()


# --- --mode and --allow-errors ---------------------------------------------------------------------------


def test_allow_errors_runs_every_cell_and_marks_the_failures(installed, tmp_path):
    path = tmp_path / "nb.ipynb"
    nb = write_notebook(path, ["a = bytearray(10_000_000)", "raise ValueError('first')", "b = 1", "1 / 0", "c = 2"])
    out = tmp_path / "out.json"
    run = heapscope("report", str(path), "--json", str(out), "--allow-errors")
    assert run.returncode == 1, run.stderr
    report = json.loads(out.read_text())
    assert [(c["index"], c["status"]) for c in report["cells"]] == [
        (0, "ok"),
        (1, "error"),
        (2, "ok"),
        (3, "error"),
        (4, "ok"),
    ]
    assert report["outcome"]["status"] == "error"
    assert report["outcome"]["failed_cell"] == {"index": 1, "cell_id": nb.cells[1].id}
    assert "ValueError: first" in report["outcome"]["message"]
    assert "2 cells failed" in run.stderr and "ZeroDivisionError" in run.stderr
    assert "Traceback" not in run.stderr


def test_mode_option_sets_the_kernels_mode(installed, tmp_path):
    path = tmp_path / "nb.ipynb"
    write_notebook(path, ["x = [0] * 1000"])
    for mode in ("exact", "default"):
        out = tmp_path / f"{mode}.json"
        run = heapscope("report", str(path), "--json", str(out), "--mode", mode, env={"HEAPSCOPE_MODE": "default"})
        assert run.returncode == 0, run.stderr
        assert json.loads(out.read_text())["kernel"]["status"]["mode"] == mode


# --- a clean shutdown --------------------------------------------------------------------------------------

#: Makes the kernel linger inside the handler of each execute request after its reply was sent (where a
#: shutdown's interrupt used to land when the CLI left right after the reply, before the kernel was idle).
SLOW_AFTER_REPLY = """\
import time
_kernel = get_ipython().kernel
_debug = _kernel.log.debug
def _slow_debug(msg, *args, **kwargs):
    _debug(msg, *args, **kwargs)
    if args and isinstance(args[0], dict) and args[0].get("msg_type") == "execute_reply":
        time.sleep(1.0)
_kernel.log.debug = _slow_debug
"""


def test_shutdown_never_interrupts_a_request(installed, tmp_path):
    """``shutdown_kernel`` sends SIGINT first: the CLI must have waited for the kernel to be idle."""
    path = tmp_path / "nb.ipynb"
    write_notebook(path, ["x = 1", SLOW_AFTER_REPLY])
    for attempt in range(3):
        out = tmp_path / f"out{attempt}.json"
        run = heapscope("report", str(path), "--json", str(out))
        assert run.returncode == 0, run.stderr
        assert "KeyboardInterrupt" not in run.stderr, run.stderr


# --- install-kernel refuses unsupported interpreters ------------------------------------------------------


def test_install_kernel_refuses_an_unsupported_python(installed, tmp_path):
    """Even one that could import heapscope and ipykernel (stand-ins in a venv here) is refused, with the
    supported range."""
    old = unsupported_pythons()
    if not old:
        pytest.skip("no unsupported Python 3 found in pyenv")
    version, python = max(old.items())
    venv = tmp_path / "old-venv"
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for module in ("heapscope/__init__.py", "heapscope/launcher.py", "ipykernel/__init__.py"):
        (Path(site) / module).parent.mkdir(parents=True, exist_ok=True)
        (Path(site) / module).write_text("")
    (Path(site) / "ipykernel" / "kernelspec.py").write_text("def get_kernel_dict():\n    return {'metadata': {}}\n")
    run = heapscope(
        "install-kernel", "--python", str(venv / "bin" / "python"), "--name", "hs-old", "--prefix", str(tmp_path)
    )
    assert run.returncode == 2, run.stderr
    from heapscope.launcher import supported_range

    assert f"Python {version[0]}.{version[1]}" in run.stderr and supported_range() in run.stderr
    assert not (tmp_path / "share" / "jupyter" / "kernels" / "hs-old").exists()


def test_install_kernel_for_a_missing_interpreter(installed, tmp_path):
    run = heapscope("install-kernel", "--python", str(tmp_path / "nope"), "--prefix", str(tmp_path))
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
