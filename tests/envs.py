"""The Python environments the accuracy tests run on (one source of truth for scripts/test-envs.sh too).

Each is a venv next to ``.venv`` with heapscope (from ``dist/``), ipykernel, numpy and pandas, and a
kernelspec in ``.venv`` pointing at its interpreter by absolute path. ``heapscope`` itself is the main
``.venv`` (set up by scripts/setup.sh).

    python tests/envs.py --list    # "NAME VENV PYTHON" lines, for scripts/test-envs.sh
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, NamedTuple

ROOT = Path(__file__).resolve().parents[1]


class Env(NamedTuple):
    kernel: str      # kernelspec name
    venv: str        # folder under the repository root
    python: str      # interpreter the venv is made from ("" for the main .venv)
    what: str


#: Debian's statically linked python3 and two pyenv (shared-library) builds, besides .venv's own.
EXTRA_ENVS: List[Env] = [
    Env("heapscope-debian311", ".venv-debian3.11", "/usr/bin/python3", "Debian python3 (static libpython)"),
    Env("heapscope-py39", ".venv-py3.9", "/root/.pyenv/versions/3.9.18/bin/python3.9", "pyenv 3.9 (shared)"),
    Env("heapscope-py313", ".venv-py3.13", "/root/.pyenv/versions/3.13.0/bin/python3.13", "pyenv 3.13 (shared)"),
]
MAIN_ENV = Env("heapscope", ".venv", "", "the main .venv")


if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for env in EXTRA_ENVS:
            print(env.kernel, env.venv, env.python)
    else:
        sys.exit(__doc__)
