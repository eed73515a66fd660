"""Kernel launcher: ``python -m heapscope.launcher -f {connection_file}`` (the kernelspec's argv).
``python -m heapscope.launcher --print-env`` prints the same set-up as shell ``export`` lines instead, for
launchers of kernel images that start ipykernel themselves (docs/remote-kernels.md).

Replaces itself (``os.execve``) with ``python -m ipykernel_launcher <args> --ext heapscope.agent``,
with the shim in ``LD_PRELOAD`` and ``HEAPSCOPE_ENABLE=1``. The shim's constructor removes itself
from ``LD_PRELOAD`` and unsets ``HEAPSCOPE_ENABLE``, so the kernel's children are not profiled.

When the shim cannot be used (missing, not loadable, crashes a test process, unsupported Python),
the kernel still starts, unprofiled, and ``HEAPSCOPE_SHIM_ERROR`` tells the agent why.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple

from ._env import ENABLE, SHIM_ERROR, SHIM_PATH

SUPPORTED_PYTHONS = ((3, 9), (3, 13))  # inclusive
PROBE_TIMEOUT = 10.0
_PROBE_CODE = "import ctypes; lib = ctypes.CDLL(None); print(lib.heapscope_abi_version(), lib.heapscope_active())"
_UNPROFILED = "; the kernel runs unprofiled"


def packaged_shim() -> Path:
    return Path(__file__).resolve().parent / "_lib" / "libheapscope.so"


def supported_range() -> str:
    """The Python versions heapscope supports, as people write them: ``3.9–3.13``."""
    low, high = SUPPORTED_PYTHONS
    return f"{low[0]}.{low[1]}–{high[0]}.{high[1]}"


def python_problem(version: Sequence[int] = tuple(sys.version_info[:2])) -> Optional[str]:
    low, high = SUPPORTED_PYTHONS
    if low <= tuple(version[:2]) <= high:
        return None
    return f"Python {version[0]}.{version[1]} is not supported by heapscope ({supported_range()} are)" + _UNPROFILED


def find_shim(environ: Mapping[str, str]) -> Tuple[Optional[Path], Optional[str]]:
    """The shim to preload (``HEAPSCOPE_SHIM_PATH`` overrides the packaged one), or why there is none.
    The override must be an absolute path: a relative one would load a library from whatever folder the
    kernel starts in (the notebook's)."""
    override = environ.get(SHIM_PATH)
    if override and not os.path.isabs(override):
        return None, f"{SHIM_PATH} must be an absolute path, not {override!r}" + _UNPROFILED
    path = Path(override) if override else packaged_shim()
    origin = f"{SHIM_PATH}={override}" if override else "the heapscope package"
    if not path.is_file():
        return None, f"the heapscope shim library was not found at {path} (from {origin})" + _UNPROFILED
    if not os.access(path, os.R_OK):
        return None, f"the heapscope shim library at {path} is not readable" + _UNPROFILED
    return path.resolve(), None


def preload_value(shim: Path, existing: str) -> str:
    others = [p for p in existing.replace(" ", ":").split(":") if p and Path(p).name != shim.name]
    return ":".join([str(shim), *others])


#: glibc's message for an LD_PRELOAD entry it cannot load (it goes on without it).
_LD_SO_REFUSED = re.compile(r"object '(?P<path>.*)' from LD_PRELOAD cannot be preloaded \((?P<why>.*)\): ignored")


def _signal_name(returncode: int) -> str:
    import signal

    try:
        return f"{signal.Signals(-returncode).name} (signal {-returncode})"
    except ValueError:
        return f"signal {-returncode}"


def probe_shim(shim: Path, environ: Mapping[str, str], notes: Optional[List[str]] = None) -> Optional[str]:
    """Run a throw-away Python with the shim preloaded: catches a library the loader rejects, a wrong
    ABI, or one that crashes, before it could take every kernel start down. ``None`` when it works.

    The loader's own words are the reason given ("file too short", "wrong ELF class"). An entry of the
    user's own ``LD_PRELOAD`` that the loader refuses does not turn profiling off (the loader skips it in
    the kernel as in the probe): it goes to ``notes``."""
    env = dict(environ)
    env["LD_PRELOAD"] = preload_value(shim, environ.get("LD_PRELOAD", ""))
    env[ENABLE] = "1"
    try:
        run = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _PROBE_CODE],
            env=env,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the heapscope shim library at {shim} could not be tested ({exc})" + _UNPROFILED
    stderr = run.stderr.strip().splitlines()
    shim_refused = None
    for line in stderr:
        refused = _LD_SO_REFUSED.search(line)
        if refused is None:
            continue
        path, why = refused.group("path"), refused.group("why")
        if path == str(shim):
            shim_refused = why
        elif notes is not None:
            notes.append(f"the loader cannot preload {path!r} from your LD_PRELOAD ({why}); it skips it")
    if shim_refused is not None:
        return f"the heapscope shim library at {shim} cannot be preloaded: {shim_refused}" + _UNPROFILED
    if run.returncode < 0:
        last = [line for line in stderr if "LD_PRELOAD cannot be preloaded" not in line]
        said = f": {last[-1]}" if last else ""
        return (
            f"the heapscope shim library at {shim} crashed a test process with {_signal_name(run.returncode)}"
            f"{said}" + _UNPROFILED
        )
    if run.returncode != 0:
        detail = stderr[-1] if stderr else f"exit status {run.returncode}"
        return f"the heapscope shim library at {shim} cannot be preloaded: {detail}" + _UNPROFILED
    from .agent.shim import ABI_VERSION  # the agent's, so that the two can never disagree

    expected = [str(ABI_VERSION), "1"]
    if run.stdout.split() != expected:
        return (
            f"the heapscope shim library at {shim} does not work as expected "
            f"(ABI version and active flag: {run.stdout.strip()!r}, expected {' '.join(expected)!r})" + _UNPROFILED
        )
    return None


def kernel_environment(environ: Mapping[str, str], notes: Optional[List[str]] = None) -> Tuple[dict, Optional[str]]:
    """The kernel's environment, and the reason it runs unprofiled (``None`` when it is profiled).
    ``notes``: gets what the user should know that does not stop profiling."""
    env = dict(environ)
    env.pop(SHIM_ERROR, None)
    env.pop(ENABLE, None)
    shim, problem = None, python_problem()
    if problem is None:
        shim, problem = find_shim(environ)
    if shim is not None:
        problem = probe_shim(shim, environ, notes)
    if problem is not None:
        env[SHIM_ERROR] = problem
        return env, problem
    assert shim is not None
    env["LD_PRELOAD"] = preload_value(shim, environ.get("LD_PRELOAD", ""))
    env[ENABLE] = "1"
    return env, None


def kernel_command(args: Sequence[str]) -> List[str]:
    return [sys.executable, "-m", "ipykernel_launcher", *args, "--ext", "heapscope.agent"]


def shell_exports(environ: Mapping[str, str], notes: Optional[List[str]] = None) -> str:
    """``--print-env``: the variables that profile the *next* Python started from a shell, as ``export``
    lines for ``eval``: ``LD_PRELOAD`` and ``HEAPSCOPE_ENABLE``, or ``HEAPSCOPE_SHIM_ERROR`` (why not) for
    the agent to show. For kernel images whose own launcher starts the kernel (docs/remote-kernels.md):
    ``eval "$(python -m heapscope.launcher --print-env)"; exec python -m ipykernel_launcher ...``. The shim
    removes both variables in the first process that loads it, so they must be set right before the exec
    of the kernel's Python, never for a shell or launcher in between."""
    import shlex

    env, problem = kernel_environment(environ, notes)
    names = [SHIM_ERROR] if problem is not None else ["LD_PRELOAD", ENABLE]
    return "".join(f"export {name}={shlex.quote(env[name])}\n" for name in names)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    notes: List[str] = []
    if args == ["--print-env"]:
        sys.stdout.write(shell_exports(os.environ, notes))
        for text in notes:
            print(f"heapscope: {text}", file=sys.stderr, flush=True)
        return
    env, problem = kernel_environment(os.environ, notes)
    for text in [*notes, *([problem] if problem else [])]:
        print(f"heapscope: {text}", file=sys.stderr, flush=True)
    command = kernel_command(args)
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main()
