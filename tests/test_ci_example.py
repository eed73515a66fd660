"""docs/ci-example.yml does what docs/ci.md says: its heapscope steps, run exactly as written (bash, the
job's environment, NOTEBOOK and BASELINE pointing at sample notebooks), pass on a notebook within its
budgets, fail with status 4 on one over budget or grown beyond the baseline, and write the files the
artifact step keeps."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import nbformat
import yaml

from kernel_session import scrubbed_environ

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "ci-example.yml"


def workflow() -> Tuple[Dict[str, str], List[Dict[str, Any]]]:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    (job,) = data["jobs"].values()
    return {k: str(v) for k, v in job["env"].items()}, job["steps"]


def heapscope_steps(steps: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [s for s in steps if str(s.get("run", "")).lstrip().startswith("heapscope ")]


def written_files(command: str) -> List[str]:
    words = shlex.split(command)
    return [words[n + 1] for n, word in enumerate(words[:-1]) if word in ("--json", "--html")]


def test_the_example_reports_diffs_and_keeps_what_it_writes():
    env, steps = workflow()
    assert {"NOTEBOOK", "MAX_PEAK", "MAX_RETAINED", "BASELINE"} <= set(env)
    report, diff = heapscope_steps(steps)
    assert report["run"].startswith("heapscope report ") and diff["run"].startswith("heapscope diff ")
    assert "--fail-over" in diff["run"] and "--max-peak" in report["run"]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    kept = upload["with"]["path"].split()
    assert set(written_files(report["run"]) + written_files(diff["run"])) <= set(kept)
    assert "cancelled()" in upload["if"] and "cancelled()" in diff["if"]  # kept after a failed step too
    assert "hashFiles(env.BASELINE)" in diff["if"]


def sample(path: Path, big_mb: int, budget: Optional[str] = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "heapscope", "display_name": "Python 3 (heapscope)", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# sample"), nbformat.v4.new_code_cell("rows = list(range(1000))")]
    big = nbformat.v4.new_code_cell(f"data = bytearray({big_mb}_000_000)")
    big.id = "big-cell"
    if budget is not None:
        big.metadata["heapscope"] = {"max_peak": budget}
    nb.cells.append(big)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def run_step(step: Dict[str, Any], workdir: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    # GitHub Actions runs `run:` with `bash -e {0}`; `heapscope` is on PATH as after the install step
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=workdir,
        env={**scrubbed_environ(), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_example_commands_pass_and_fail_on_sample_notebooks(installed, tmp_path):
    job_env, steps = workflow()
    report, diff = heapscope_steps(steps)
    work = tmp_path / "repo"
    notebook = work / job_env["NOTEBOOK"]
    baseline = work / job_env["BASELINE"]

    # 1. a notebook within its budgets, and no baseline yet: the report passes, the diff step is skipped
    sample(notebook, 20)
    done = run_step(report, work, job_env)
    assert done.returncode == 0, done.stderr
    for name in written_files(report["run"]):
        assert (work / name).is_file(), name
    data = json.loads((work / "heapscope-report.json").read_text())
    assert data["cells"][0]["budget"] == {"max_peak": 2 * 10**9, "max_retained": 500 * 10**6}  # MAX_PEAK, MAX_RETAINED
    shutil.copy(work / "heapscope-report.json", baseline)  # the committed baseline

    # 2. the same notebook again: the diff finds nothing grown
    done = run_step(report, work, job_env)
    assert done.returncode == 0, done.stderr
    done = run_step(diff, work, job_env)
    assert done.returncode == 0, done.stderr + done.stdout
    for name in written_files(diff["run"]):
        assert (work / name).is_file(), name

    # 3. the big cell grows from 20 MB to 60 MB and its own budget says 40 MB: both steps fail with 4
    sample(notebook, 60, budget="40 MB")
    done = run_step(report, work, job_env)
    assert done.returncode == 4, done.stderr
    assert any(
        line.startswith("heapscope: cell [2] data = bytearray(60_000_000): peak +6") and line.endswith("> budget 40 MB")
        for line in done.stderr.splitlines()
    ), done.stderr
    done = run_step(diff, work, job_env)
    assert done.returncode == 4, done.stderr + done.stdout
    assert "heapscope: 1 cell grew by more than 10 %" in done.stderr
    (grown,) = [row for row in json.loads((work / "heapscope-diff.json").read_text())["cells"] if row["failed"]]
    assert grown["match"] == "edited" and grown["after_cell_id"] == "big-cell"
