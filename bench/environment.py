"""The environment every measured process runs in, and a description of the machine.

Pinning (same for every configuration, recorded in the results):
- GLIBC_TUNABLES fixes glibc's mmap and trim thresholds at their defaults (128 KiB). Setting them turns off
  glibc's *dynamic* mmap threshold, which otherwise makes numpy workloads bimodal (the same run took 2 s or
  15 s on this kind of machine, BRIEF §7).
- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some machines here for old OpenBLAS builds, slow a current
  numpy: both are removed together for the measured commands only (--keep-openblas-env keeps them), and the
  BLAS kernel then in use is recorded (threadpoolctl).
- BLAS/OpenMP threads are 1, so the `threads` workload's concurrency is ours, not the BLAS pool's.
- PYTHONHASHSEED=0 for repeatable dict/set layouts.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Dict, Optional

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
MAIN_PYTHON = ROOT / ".venv" / "bin" / "python"
# HEAPSCOPE_CLI points the suites at another build of the command (default: the project's .venv).
HEAPSCOPE = Path(os.environ.get("HEAPSCOPE_CLI") or ROOT / ".venv" / "bin" / "heapscope")

GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072"
PINNED = {
    "GLIBC_TUNABLES": GLIBC_TUNABLES,
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
}
OPENBLAS_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def child_env(
    scale: float = 1.0, keep_openblas_env: bool = False, extra: Optional[Dict[str, str]] = None
) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(PINNED)
    if not keep_openblas_env:
        for name in OPENBLAS_UNSET:
            env.pop(name, None)
    for name in ("PYTHONMALLOC", "PYTHONTRACEMALLOC", "LD_PRELOAD", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)  # nothing inherited may profile or redirect the baseline
    env["BENCH_SCALE"] = repr(scale)
    if extra:
        env.update(extra)
    return env


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _output(argv, env=None) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(keep_openblas_env: bool = False) -> Dict[str, object]:
    glibc = " ".join(platform.libc_ver())
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "glibc": glibc,
        "python": _output([str(MAIN_PYTHON), "-c", "import sys; print(sys.version.split()[0])"]),
        "python_executable": _output([str(MAIN_PYTHON), "-c", "import sys; print(sys._base_executable)"]),
        "mem_total_kb": _meminfo_total(),
        "pinned_env": dict(PINNED),
        "openblas_env_outside": {k: os.environ.get(k) for k in OPENBLAS_UNSET},
        "openblas_env_unset": not keep_openblas_env,
    }


def _meminfo_total() -> Optional[int]:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def blas_info(python: Path, env: Dict[str, str]) -> object:
    """threadpoolctl's view of numpy's BLAS under the pinned environment (needs threadpoolctl there)."""
    code = (
        "import json, numpy, threadpoolctl; "
        "print(json.dumps([{k: i.get(k) for k in ('internal_api', 'version', 'architecture', "
        "'num_threads')} for i in threadpoolctl.threadpool_info()]))"
    )
    out = _output([str(python), "-c", code], env=env)
    try:
        return json.loads(out)
    except ValueError:
        return "unknown (threadpoolctl not importable)"
