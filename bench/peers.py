"""The peers' virtual environment, bench/.venv-peers: created on first use from the same Python as
the repository's .venv, with the same numpy and pandas versions, then each peer installed from PyPI on its own so
that one failure never hides the others. The outcome of every install is kept in a stamp file; failed
installs are retried on the next run, successful ones are not repeated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

from heapscope.files import write_text

from .environment import BENCH_DIR, MAIN_PYTHON

VENV = BENCH_DIR / ".venv-peers"
PY = VENV / "bin" / "python"
STAMP = VENV / "bench-install.json"
LOG = VENV / "install.log"

# The versions measured and documented in docs/benchmarks.md; CLIs change between releases (Scalene 2 moved
# to `scalene run`), so bump these on purpose, not by accident.
PEERS = {
    "memray": "memray==1.20.0",
    "fil": "filprofiler==2024.11.2",
    "scalene": "scalene==2.4.0",
}
SUPPORT = ["threadpoolctl"]


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def _main_versions() -> Dict[str, Optional[str]]:
    code = (
        "import json, importlib.metadata as m\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except Exception: return None\n"
        "print(json.dumps({n: v(n) for n in ('numpy', 'pandas')}))"
    )
    out = subprocess.run([str(MAIN_PYTHON), "-c", code], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else {"numpy": None, "pandas": None}


def _pip(*args: str) -> subprocess.CompletedProcess:
    with LOG.open("a") as log:
        log.write(f"\n$ pip install {' '.join(args)}\n")
        log.flush()
        proc = subprocess.run(
            [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args],
            stdout=log,
            stderr=subprocess.PIPE,
            text=True,
            timeout=1800,
        )
        log.write(proc.stderr)
    return proc


def _reason(proc: subprocess.CompletedProcess) -> str:
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING: Location")]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or [f"pip exited {proc.returncode}"])[-1][:300]


def ensure(offline: bool = False) -> Dict[str, object]:
    """Create/refresh the venv. Returns {"python", "base": {numpy, pandas}, "peers": {name: {"ok", ...}}}."""
    state: Dict[str, object] = {"python": str(PY), "venv_error": None, "base": {}, "peers": {}}
    if not MAIN_PYTHON.exists():
        state["venv_error"] = f"{MAIN_PYTHON} does not exist (run `make setup` first)"
        return state
    base = subprocess.run(
        [str(MAIN_PYTHON), "-c", "import sys; print(sys._base_executable)"], capture_output=True, text=True
    ).stdout.strip()
    wanted = _main_versions()
    state["base"] = wanted
    old = json.loads(STAMP.read_text()) if STAMP.exists() else {}
    if not PY.exists():
        if offline:
            state["venv_error"] = "bench/.venv-peers does not exist and --no-install was given"
            return state
        _say(f"creating {VENV} with {base} (first run; installs the peers from PyPI)")
        proc = subprocess.run([base, "-m", "venv", str(VENV)], capture_output=True, text=True)
        if proc.returncode != 0:
            state["venv_error"] = f"python -m venv failed: {proc.stderr.strip()[-300:]}"
            return state
        old = {}
    peers = dict(old.get("peers", {}))
    if not offline and old.get("base") != wanted:
        specs = [f"{n}=={v}" for n, v in wanted.items() if v] + SUPPORT
        _say(f"installing {' '.join(specs)} into bench/.venv-peers")
        proc = _pip(*specs)
        if proc.returncode != 0:
            state["venv_error"] = f"numpy/pandas did not install: {_reason(proc)}"
            return state
        old["base"] = wanted
    for name, spec in PEERS.items():
        prev = peers.get(name, {})
        if prev.get("ok") and prev.get("spec") == spec:
            continue
        if offline:
            peers[name] = {"ok": False, "spec": spec, "reason": "not installed (--no-install)"}
            continue
        _say(f"installing {spec} into bench/.venv-peers")
        proc = _pip(spec)
        peers[name] = (
            {"ok": True, "spec": spec}
            if proc.returncode == 0
            else {"ok": False, "spec": spec, "reason": f"pip install {spec} failed: {_reason(proc)}"}
        )
    write_text(STAMP, json.dumps({"base": old.get("base"), "peers": peers}, indent=1))
    state["peers"] = peers
    return state


def bin_path(tool: str) -> Path:
    return VENV / "bin" / tool
