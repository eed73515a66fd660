"""Kernel launcher: ``python -m heapscope.launcher -f {connection_file}`` (the kernelspec's argv).

Replaces itself (``os.execve``) with ``python -m ipykernel_launcher <args> --ext heapscope.agent``,
with the shim in ``LD_PRELOAD`` and ``HEAPSCOPE_ENABLE=1``. The shim's constructor removes itself
from ``LD_PRELOAD`` and unsets ``HEAPSCOPE_ENABLE``, so the kernel's children are not profiled.

When the shim cannot be used (missing, not loadable, crashes a test process, unsupported Python),
the kernel still starts, unprofiled, and ``HEAPSCOPE_SHIM_ERROR`` tells the agent why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple

from ._env import ENABLE, SHIM_ERROR, SHIM_PATH

SUPPORTED_PYTHONS = ((3, 9), (3, 13))  # inclusive
PROBE_TIMEOUT = 10.0
_PROBE_CODE = (
    "import ctypes; lib = ctypes.CDLL(None); "
    "print(lib.heapscope_abi_version(), lib.heapscope_active())"
)
_UNPROFILED = "; the kernel runs unprofiled"


def packaged_shim() -> Path:
    return Path(__file__).resolve().parent / "_lib" / "libheapscope.so"


def python_problem(version: Sequence[int] = tuple(sys.version_info[:2])) -> Optional[str]:
    low, high = SUPPORTED_PYTHONS
    if low <= tuple(version[:2]) <= high:
        return None
    return (f"Python {version[0]}.{version[1]} is not supported by heapscope "
            f"({low[0]}.{low[1]}–{high[0]}.{high[1]} are)" + _UNPROFILED)


def find_shim(environ: Mapping[str, str]) -> Tuple[Optional[Path], Optional[str]]:
    """The shim to preload (``HEAPSCOPE_SHIM_PATH`` overrides the packaged one), or why there is none."""
    override = environ.get(SHIM_PATH)
    path = Path(override) if override else packaged_shim()
    origin = f"{SHIM_PATH}={override}" if override else "the heapscope package"
    if not path.is_file():
        return None, f"the heapscope shim library was not found at {path} (from {origin})" + _UNPROFILED
    if not os.access(path, os.R_OK):
        return None, f"the heapscope shim library at {path} is not readable" + _UNPROFILED
    return path.resolve(), None


def preload_value(shim: Path, existing: str) -> str:
    others = [p for p in existing.replace(" ", ":").split(":") if p and Path(p).name != shim.name]
    return ":".join([str(shim)] + others)


def probe_shim(shim: Path, environ: Mapping[str, str]) -> Optional[str]:
    """Run a throw-away Python with the shim preloaded: catches a library the loader rejects, a wrong
    ABI, or one that crashes, before it could take every kernel start down. ``None`` when it works."""
    env = dict(environ)
    env["LD_PRELOAD"] = preload_value(shim, environ.get("LD_PRELOAD", ""))
    env[ENABLE] = "1"
    try:
        run = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE_CODE], env=env, capture_output=True,
                             text=True, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the heapscope shim library at {shim} could not be tested ({exc})" + _UNPROFILED
    stderr = run.stderr.strip().splitlines()
    detail = stderr[-1] if stderr else f"exit status {run.returncode}"
    if run.returncode != 0 or any("ld.so" in line for line in stderr):
        return f"the heapscope shim library at {shim} cannot be preloaded: {detail}" + _UNPROFILED
    if run.stdout.split() != ["1", "1"]:
        return (f"the heapscope shim library at {shim} does not work as expected "
                f"(ABI version and active flag: {run.stdout.strip()!r}, expected '1 1')" + _UNPROFILED)
    return None


def kernel_environment(environ: Mapping[str, str]) -> Tuple[dict, Optional[str]]:
    """The kernel's environment, and the reason it runs unprofiled (``None`` when it is profiled)."""
    env = dict(environ)
    env.pop(SHIM_ERROR, None)
    env.pop(ENABLE, None)
    shim, problem = None, python_problem()
    if problem is None:
        shim, problem = find_shim(environ)
    if shim is not None:
        problem = probe_shim(shim, environ)
    if problem is not None:
        env[SHIM_ERROR] = problem
        return env, problem
    env["LD_PRELOAD"] = preload_value(shim, environ.get("LD_PRELOAD", ""))
    env[ENABLE] = "1"
    return env, None


def kernel_command(args: Sequence[str]) -> List[str]:
    return [sys.executable, "-m", "ipykernel_launcher", *args, "--ext", "heapscope.agent"]


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    env, problem = kernel_environment(os.environ)
    if problem is not None:
        print(f"heapscope: {problem}", file=sys.stderr, flush=True)
    command = kernel_command(args)
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main()
