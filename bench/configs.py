"""The configurations a workload runs under, and whether each can run on this machine.

Each configuration turns (script, scratch directory) into a command line. Every process starts in its own
scratch directory (profilers drop files into the working directory), which is removed after the run.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

from . import peers
from .environment import HEAPSCOPE, MAIN_PYTHON


@dataclass
class Config:
    name: str
    what: str  # one line for the docs and the output
    argv: Callable[[Path, Path], List[str]]  # (script, scratch dir) -> command
    needs: str  # "main", "heapscope" or a peer name in peers.PEERS
    available: Optional[bool] = None
    reason: Optional[str] = None


def _main(*flags: str) -> Callable[[Path, Path], List[str]]:
    return lambda script, out: [str(MAIN_PYTHON), *flags, str(script)]


def _heapscope(mode: str) -> Callable[[Path, Path], List[str]]:
    # Options before the script: whatever follows SCRIPT.py belongs to the script.
    return lambda script, out: [
        str(HEAPSCOPE),
        "run",
        "--mode",
        mode,
        "--json",
        str(out / "heapscope.json"),
        str(script),
    ]


def _heapscope_guard_off(mode: str) -> Callable[[Path, Path], List[str]]:
    # The same command with the memory guard off (docs/guard.md): its cost is heapscope-<mode> / this.
    return lambda script, out: ["/usr/bin/env", "HEAPSCOPE_GUARD=off", *_heapscope(mode)(script, out)]


def _memray(*flags: str) -> Callable[[Path, Path], List[str]]:
    return lambda script, out: [
        str(peers.bin_path("memray")),
        "run",
        "-q",
        "-f",
        *flags,
        "-o",
        str(out / "capture.bin"),
        str(script),
    ]


CONFIGS: List[Config] = [
    Config("unprofiled", "plain `python SCRIPT.py` (the .venv interpreter)", _main(), "main"),
    Config(
        "heapscope-default",
        "`heapscope run --mode default` (sampled small objects, exact >= 64 KiB)",
        _heapscope("default"),
        "heapscope",
    ),
    Config(
        "heapscope-default-noguard",
        "`heapscope run --mode default` with HEAPSCOPE_GUARD=off (the guard's cost: default / this)",
        _heapscope_guard_off("default"),
        "heapscope",
    ),
    Config(
        "heapscope-exact",
        "`heapscope run --mode exact` (every allocation in the table)",
        _heapscope("exact"),
        "heapscope",
    ),
    Config("tracemalloc", "`python -X tracemalloc=1` (1 frame per trace)", _main("-X", "tracemalloc=1"), "main"),
    Config("memray", "`memray run` (default: libc + mmap, pymalloc arenas only)", _memray(), "memray"),
    Config(
        "memray-pyalloc",
        "`memray run --trace-python-allocators` (every pymalloc block too)",
        _memray("--trace-python-allocators"),
        "memray",
    ),
    Config(
        "fil",
        "`fil-profile --no-browser run` (preloaded malloc hooks, peak tracking)",
        lambda script, out: [
            str(peers.bin_path("fil-profile")),
            "-o",
            str(out / "fil"),
            "--no-browser",
            "run",
            str(script),
        ],
        "fil",
    ),
    Config(
        "scalene",
        "`scalene run --memory -o OUT.json` (Scalene 2; CPU + sampled memory, no browser)",
        lambda script, out: [
            str(peers.bin_path("scalene")),
            "run",
            "--memory",
            "-o",
            str(out / "scalene.json"),
            str(script),
        ],
        "scalene",
    ),
]
BY_NAME: Dict[str, Config] = {c.name: c for c in CONFIGS}


def heapscope_missing() -> Optional[str]:
    """Why `heapscope run` cannot be used yet, or None when its CLI offers it."""
    if not HEAPSCOPE.exists():
        return f"{HEAPSCOPE} does not exist"
    try:
        proc = subprocess.run([str(HEAPSCOPE), "run", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`heapscope run --help` failed: {exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return f"`heapscope run --help` exited {proc.returncode}: {last.strip()}"
    return None


def static_check(config: Config, peer_state: Dict[str, object]) -> Optional[str]:
    """A reason the configuration cannot run, found without running it (None if it may run)."""
    if config.needs == "main":
        return None if MAIN_PYTHON.exists() else f"{MAIN_PYTHON} does not exist"
    if config.needs == "heapscope":
        return heapscope_missing()
    if peer_state.get("venv_error"):
        return f"bench/.venv-peers unusable: {peer_state['venv_error']}"
    info = peer_state.get("peers", {}).get(config.needs)
    if not info:
        return "not installed"
    if not info.get("ok"):
        return info.get("reason") or "install failed"
    return None
