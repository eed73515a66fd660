"""``heapscope run`` (scripts), ``heapscope install-kernel``, and the attribution fields of
``heapscope report``: the installed console script, real processes, the report schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from heapscope.agent.protocol import validate_report
from kernel_session import scrubbed_environ

ROOT = Path(__file__).resolve().parents[1]
HEAPSCOPE = Path(sys.executable).with_name("heapscope")
N = 50_000_000

SCRIPT = f"""\
import sys
import numpy as np

def build(n):
    return np.ones(n)

keep = build({N // 8})
temp = bytearray({N})
del temp
print("args", sys.argv[1:], flush=True)
if "--raise" in sys.argv:
    raise ValueError("as asked")
if "--exit" in sys.argv:
    sys.exit(int(sys.argv[-1]))
"""


def heapscope(*args: str, env=None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HEAPSCOPE), *args],
        env={**scrubbed_environ(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def load(path: Path) -> dict:
    data = json.loads(path.read_text())
    assert validate_report(data) is None, validate_report(data)  # protocol/report.schema.json
    return data


def at_line(sites, line: int, file_suffix: str) -> int:
    """Bytes of sites whose stack has a frame at ``file_suffix:line``."""
    return sum(
        s["bytes"] for s in sites if any(f["file"].endswith(file_suffix) and f["line"] == line for f in s["stack"])
    )


def test_run_profiles_a_script(installed, tmp_path):
    script = tmp_path / "work.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out.json"
    run = heapscope("run", str(script), "a", "--flag", "--json", str(out))
    assert run.returncode == 0, run.stderr
    assert "args ['a', '--flag']" in run.stdout  # the script's own arguments, --json was heapscope's
    report = load(out)
    assert report["target"] == {"kind": "script", "path": str(script.resolve())}
    assert report["outcome"]["status"] == "ok"
    assert report["kernel"]["status"]["attribution"] is True, report["kernel"]["status"]
    (cell,) = report["cells"]
    assert cell["status"] == "ok" and cell["peak_bytes"] - cell["start_bytes"] >= 2 * N * 0.99
    # build() at line 5, called from line 7; the temporary at line 8 is at the peak, not at the end
    assert abs(at_line(cell["retained"], 5, "work.py") - N) < 0.01 * N
    assert abs(at_line(cell["top_at_peak"], 8, "work.py") - N) < 0.01 * N
    assert at_line(cell["retained"], 8, "work.py") < 0.01 * N
    leaf = next(s for s in cell["retained"] if s["function"] == "ones")
    assert [f["line"] for f in leaf["stack"] if f["file"].endswith("work.py")] == [5, 7]
    assert not any("runpy" in f["file"] or "heapscope" in f["file"] for f in leaf["stack"])
    assert report["retained_by_cell"] and report["retained_by_cell"][0]["bytes"] >= N


def test_run_reports_a_script_that_raises_or_exits(installed, tmp_path):
    script = tmp_path / "work.py"
    script.write_text(SCRIPT)
    out = tmp_path / "raised.json"
    run = heapscope("run", "--mode", "exact", str(script), "--raise", "--json", str(out))
    assert run.returncode == 1
    assert "ValueError: as asked" in run.stderr
    report = load(out)
    assert report["outcome"]["status"] == "error" and "ValueError" in report["outcome"]["message"]
    assert report["kernel"]["status"]["mode"] == "exact"
    assert report["cells"][0]["status"] == "error"
    assert abs(at_line(report["cells"][0]["retained"], 5, "work.py") - N) < 0.01 * N

    out = tmp_path / "exited.json"
    run = heapscope("run", str(script), "--exit", "7", "--json", str(out), env={"HEAPSCOPE_MODE": "exact"})
    assert run.returncode == 7
    report = load(out)
    assert report["outcome"]["status"] == "error" and report["kernel"]["status"]["mode"] == "exact"


def test_run_without_attribution_still_writes_totals(installed, tmp_path):
    script = tmp_path / "work.py"
    script.write_text(SCRIPT)
    out = tmp_path / "totals.json"
    run = heapscope("run", "--json", str(out), str(script), env={"HEAPSCOPE_ATTRIBUTION": "0"})
    assert run.returncode == 0, run.stderr
    report = load(out)
    assert report["kernel"]["status"]["attribution"] is False and report["retained_by_cell"] is None
    assert "top_at_peak" not in report["cells"][0]
    assert report["cells"][0]["end_bytes"] - report["cells"][0]["start_bytes"] >= N * 0.99


def test_run_of_a_missing_script(installed, tmp_path):
    run = heapscope("run", str(tmp_path / "nope.py"), "--json", str(tmp_path / "o.json"))
    assert run.returncode == 2 and "no such script" in run.stderr


def test_install_kernel_for_an_interpreter(installed, tmp_path):
    run = heapscope("install-kernel", "--python", sys.executable, "--name", "hs-test", "--prefix", str(tmp_path))
    assert run.returncode == 0, run.stderr
    spec = json.loads((tmp_path / "share" / "jupyter" / "kernels" / "hs-test" / "kernel.json").read_text())
    assert spec["argv"] == [sys.executable, "-m", "heapscope.launcher", "-f", "{connection_file}"]
    assert "(heapscope)" in spec["display_name"]
    bad = tmp_path / "fake-python"
    # a Python of a supported version that lacks heapscope (no other check is reached without one)
    bad.write_text(
        '#!/bin/sh\ncase "$*" in *version_info*) echo 3.11.0;; '
        '*) echo "ModuleNotFoundError: No module named heapscope" >&2; exit 1;; esac\n'
    )
    bad.chmod(0o755)
    run = heapscope("install-kernel", "--python", str(bad), "--name", "hs-bad", "--prefix", str(tmp_path))
    assert run.returncode == 2 and "cannot run the heapscope kernel" in run.stderr
    assert not (tmp_path / "share" / "jupyter" / "kernels" / "hs-bad").exists()


def test_report_of_a_notebook_has_sites_and_retained_by_cell(installed, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np"),
        nbformat.v4.new_code_cell("def make(n):\n    return np.ones(n)"),
        nbformat.v4.new_code_cell(f"a = make({N // 8})"),
    ]
    nb.metadata["kernelspec"] = {"name": "heapscope", "display_name": "Python 3 (heapscope)", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    out = tmp_path / "report.json"
    run = heapscope("report", str(path), "--json", str(out))
    assert run.returncode == 0, run.stderr
    report = load(out)
    ids = [c.id for c in nb.cells]
    cells = {c["index"]: c for c in report["cells"]}
    site = max(cells[2]["retained"], key=lambda s: s["bytes"])
    # nbclient sends no cellId: the report names the cells by the notebook's ids
    assert (site["cell_id"], site["cell_line"]) == (ids[1], 2)
    assert any(f["cell_id"] == ids[2] and f["cell_line"] == 1 for f in site["stack"])
    assert abs(site["bytes"] - N) < 0.01 * N
    retained = {e["cell_id"]: e["bytes"] for e in report["retained_by_cell"]}
    assert abs(retained[ids[2]] - N) < 0.02 * N
