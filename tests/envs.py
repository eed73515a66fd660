"""The Python environments the accuracy tests run on (one source of truth for scripts/test-envs.sh too).

Each is a venv next to ``.venv`` with heapscope (from ``dist/``), ipykernel, numpy and pandas, and a
kernelspec in ``.venv`` pointing at its interpreter by absolute path. ``heapscope`` itself is the main
``.venv`` (set up by scripts/setup.sh).

The interpreters are discovered, never written down: pyenv's versions (``$PYENV_ROOT``, else
``~/.pyenv``; the newest patch release of each minor version) for the oldest and the newest Python heapscope
supports, and the system's ``python3`` (Debian's, statically linked). A machine without one of them simply
has fewer environments (scripts/test-envs.sh says which).

    python tests/envs.py --list    # "NAME VENV PYTHON" lines, for scripts/test-envs.sh
    python tests/envs.py --pythons # every discovered interpreter: "X.Y PATH" lines
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
Version = Tuple[int, int]


class Env(NamedTuple):
    kernel: str  # kernelspec name
    venv: str  # folder under the repository root
    python: str  # interpreter the venv is made from ("" for the main .venv)
    what: str


def supported_pythons() -> Tuple[Version, Version]:
    """heapscope's supported range (oldest, newest), from the package itself."""
    try:
        from heapscope.launcher import SUPPORTED_PYTHONS

        return SUPPORTED_PYTHONS
    except ImportError:  # heapscope not installed yet (scripts/setup.sh lists the envs early)
        return (3, 9), (3, 13)


def pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def pyenv_pythons(root: Optional[Path] = None) -> Dict[Version, Path]:
    """Every CPython pyenv has, by minor version (the newest patch release of each), e.g.
    ``{(3, 9): ~/.pyenv/versions/3.9.18/bin/python3.9, ...}``."""
    found: Dict[Version, Tuple[Tuple[int, int, int], Path]] = {}
    versions = (root or pyenv_root()) / "versions"
    if not versions.is_dir():
        return {}
    for folder in versions.iterdir():
        match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", folder.name)  # CPython releases only (no -dev, pypy, ...)
        if not match:
            continue
        major, minor, patch = (int(x) for x in match.groups())
        python = folder / "bin" / f"python{major}.{minor}"
        newer = (major, minor) not in found or found[(major, minor)][0] < (major, minor, patch)
        if newer and python.is_file() and os.access(python, os.X_OK):
            found[(major, minor)] = ((major, minor, patch), python)
    return {version: path for version, (_, path) in sorted(found.items())}


def system_python() -> Optional[Tuple[Version, Path]]:
    """The operating system's ``python3`` (``/usr/bin`` or ``/bin``) and its version, read from the name
    the link points at (``python3.11``), without running it."""
    found = shutil.which("python3", path=os.pathsep.join(["/usr/bin", "/bin"]))
    if found is None:
        return None
    match = re.fullmatch(r"python(\d+)\.(\d+)", Path(os.path.realpath(found)).name)
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2))), Path(found)


def discover() -> List[Env]:
    """The extra environments this machine can have: the system python3 (if heapscope supports its
    version), and pyenv's oldest and newest supported Pythons."""
    low, high = supported_pythons()
    envs: List[Env] = []
    system = system_python()
    if system is not None and low <= system[0] <= high:
        (major, minor), path = system
        envs.append(
            Env(
                f"heapscope-debian{major}{minor}",
                f".venv-debian{major}.{minor}",
                str(path),
                "system python3 (static libpython)",
            )
        )
    pyenv = pyenv_pythons()
    supported = [v for v in pyenv if low <= v <= high]
    for version in sorted({supported[0], supported[-1]} if supported else set()):
        major, minor = version
        envs.append(
            Env(
                f"heapscope-py{major}{minor}",
                f".venv-py{major}.{minor}",
                str(pyenv[version]),
                f"pyenv {major}.{minor} (shared)",
            )
        )
    return envs


def unsupported_pythons() -> Dict[Version, Path]:
    """pyenv's Python 3 versions heapscope does not support (for tests that they are refused)."""
    low, high = supported_pythons()
    return {v: p for v, p in pyenv_pythons().items() if v[0] == 3 and not low <= v <= high}


#: The extra environments on this machine (see :func:`discover`).
EXTRA_ENVS: List[Env] = discover()
MAIN_ENV = Env("heapscope", ".venv", "", "the main .venv")


if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for env in EXTRA_ENVS:
            print(env.kernel, env.venv, env.python)
    elif sys.argv[1:] == ["--pythons"]:
        for (major, minor), path in pyenv_pythons().items():
            print(f"{major}.{minor} {path}")
    else:
        sys.exit(__doc__)
