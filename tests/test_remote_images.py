"""The kernel-image files of docs/remote/ (issue 15): kernelspecs, the Dockerfile fragment, the bootstrap patch
and heapscope-python.

No Docker engine runs on the test machines, so the image is never built here: the Dockerfile is parsed and
checked (instructions, the files it copies, its shell commands), the bootstrap patch runs on a bootstrap of
the shape Enterprise Gateway's images have, heapscope-python and the kernelspecs run for real (the
kernelspecs through a real gateway in tests/test_remote_gateway.py), and the process-proxy classes the
container kernelspecs name are imported from the gateway's own environment.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
REMOTE = ROOT / "docs" / "remote"
GATEWAY_PYTHON = ROOT / ".venv-gateway" / "bin" / "python"
KERNELSPECS = sorted((REMOTE / "kernelspecs").glob("*/kernel.json"))
DOCKER_INSTRUCTIONS = {"FROM", "ARG", "ENV", "RUN", "COPY", "ADD", "USER", "WORKDIR", "CMD", "ENTRYPOINT", "LABEL"}


def dockerfile_instructions(text: str) -> List[Tuple[str, str]]:
    """(instruction, arguments) of a Dockerfile: comments dropped, continuation lines joined."""
    out: List[Tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        word, _, rest = whole.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "a continuation line ends the Dockerfile"
    return out


def test_the_kernelspecs_are_heapscope_kernelspecs() -> None:
    assert {p.parent.name for p in KERNELSPECS} == {
        "python_docker_heapscope",
        "python_kubernetes_heapscope",
        "python_env_heapscope",
    }
    for path in KERNELSPECS:
        spec = json.loads(path.read_text())
        assert spec["language"] == "python"
        assert spec["display_name"].endswith("(heapscope)") or "heapscope" in spec["display_name"]
        assert spec["metadata"]["heapscope"] == {"profiled": True}, path
        assert isinstance(spec["argv"], list) and all(isinstance(a, str) for a in spec["argv"])
        proxy = spec["metadata"].get("process_proxy")
        if proxy is None:
            continue
        # A container kernelspec: EG's launcher script in this kernelspec's own folder, the image to run.
        assert spec["argv"][1] == f"/usr/local/share/jupyter/kernels/{path.parent.name}/scripts/" + (
            "launch_docker.py" if "docker" in path.parent.name else "launch_kubernetes.py"
        )
        for placeholder in ("{kernel_id}", "{response_address}", "{public_key}", "{port_range}"):
            assert placeholder in spec["argv"], (path, placeholder)
        assert proxy["config"]["image_name"].startswith("my-registry/kernel-py-heapscope:")


def test_the_container_kernelspecs_name_process_proxies_the_gateway_has() -> None:
    if not GATEWAY_PYTHON.is_file():
        why = f"{GATEWAY_PYTHON} is missing: run `bash scripts/gateway-env.sh` (scripts/setup.sh --tests does)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    names = [
        json.loads(p.read_text())["metadata"]["process_proxy"]["class_name"]
        for p in KERNELSPECS
        if "process_proxy" in json.loads(p.read_text())["metadata"]
    ]
    assert len(names) == 2
    # Importing them connects to a Docker engine or a Kubernetes cluster (none here): read their source instead.
    purelib = subprocess.run(
        [str(GATEWAY_PYTHON), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for name in names:
        module, _, cls = name.rpartition(".")
        source = Path(purelib, *module.split(".")).with_suffix(".py")
        tree = ast.parse(source.read_text())
        assert cls in {node.name for node in tree.body if isinstance(node, ast.ClassDef)}, (source, cls)


def test_the_dockerfile_fragment() -> None:
    steps = dockerfile_instructions((REMOTE / "Dockerfile").read_text())
    kinds = [k for k, _ in steps]
    assert set(kinds) <= DOCKER_INSTRUCTIONS, set(kinds) - DOCKER_INSTRUCTIONS
    assert kinds[0] in ("ARG", "FROM") and "FROM" in kinds
    assert kinds[-1] == "USER", "the image goes back to the notebook user"
    copied = []
    for kind, args in steps:
        if kind == "COPY":
            *sources, _target = args.split()
            copied += sources
        if kind == "RUN":  # each RUN is valid sh
            subprocess.run(["sh", "-n", "-c", args], check=True)
    # Every file it copies is in docs/remote/, but the wheel (dist/, copied beside them as the docs say).
    for source in copied:
        if source.startswith("heapscope-*") and source.endswith(".whl"):
            continue  # the wheel scripts/dev-install.sh builds into dist/
        else:
            assert (REMOTE / source).is_file(), source
    run = " ".join(args for kind, args in steps if kind == "RUN")
    assert "pip install" in run and "[cli]" not in run and "pip check" in run
    assert "patch-bootstrap.sh /usr/local/bin/bootstrap-kernel.sh" in run
    assert ("COPY", "ipython_kernel_config.json /etc/ipython/ipython_kernel_config.json") in steps
    config = json.loads((REMOTE / "ipython_kernel_config.json").read_text())
    assert config == {"IPKernelApp": {"extensions": ["heapscope.agent"]}}


# A bootstrap of the shape Enterprise Gateway's kernel images have: it prints the command, then runs it.
BOOTSTRAP = """#!/bin/bash
KERNEL_LAUNCHERS_PATH=/usr/local/share/jupyter/kernel-launchers
launch_python_kernel() {
    export JPY_PARENT_PID=$$
\techo "python ${KERNEL_LAUNCHERS_PATH}/python/scripts/launch_ipykernel.py --RemoteProcessProxy.kernel-id ${KERNEL_ID}"
\tpython ${KERNEL_LAUNCHERS_PATH}/python/scripts/launch_ipykernel.py --RemoteProcessProxy.kernel-id ${KERNEL_ID}
}
launch_R_kernel() {
\tRscript ${KERNEL_LAUNCHERS_PATH}/R/scripts/launch_IRkernel.R
}
"""


def test_the_bootstrap_patch_routes_only_the_python_launcher(tmp_path: Path) -> None:
    boot = tmp_path / "bootstrap-kernel.sh"
    boot.write_text(BOOTSTRAP)
    subprocess.run(["sh", str(REMOTE / "patch-bootstrap.sh"), str(boot)], check=True)
    lines = boot.read_text().splitlines()
    changed = [a for a, b in zip(BOOTSTRAP.splitlines(), lines) if a != b]
    assert len(changed) == 1 and changed[0].startswith("\tpython "), changed
    assert "\theapscope-python ${KERNEL_LAUNCHERS_PATH}/python/scripts/launch_ipykernel.py" in lines[5]
    assert lines[4].lstrip().startswith('echo "python '), "the echo line is left as it is"
    subprocess.run(["bash", "-n", str(boot)], check=True)

    other = tmp_path / "other.sh"
    other.write_text("#!/bin/bash\nexec python -m ipykernel_launcher\n")
    failed = subprocess.run(["sh", str(REMOTE / "patch-bootstrap.sh"), str(other)], capture_output=True, text=True)
    assert failed.returncode == 1 and "no line" in failed.stderr


PROBE = (
    "import ctypes, os, subprocess, sys\n"
    "lib = ctypes.CDLL(None)\n"
    "active = lib.heapscope_active() if hasattr(lib, 'heapscope_active') else 'absent'\n"
    "child = subprocess.run([sys.executable, '-c', 'import os; print(os.environ.get(\"LD_PRELOAD\"))'],"
    " capture_output=True, text=True).stdout.strip()\n"
    "print(active, os.environ.get('HEAPSCOPE_ENABLE'), child)\n"
)


@pytest.mark.parametrize("through", ["direct", "bash"])
def test_heapscope_python_preloads_the_shim_into_that_python_alone(through: str) -> None:
    wrapper = str(REMOTE / "heapscope-python")
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "HEAPSCOPE_ENABLE", "HEAPSCOPE_SHIM_PATH")}
    env["HEAPSCOPE_PYTHON"] = sys.executable  # this test's python: heapscope is installed there
    argv = [wrapper, "-c", PROBE]
    if through == "bash":  # as a bootstrap script runs it: the shell in between does not load the shim
        argv = ["bash", "-c", " ".join(shlex.quote(a) for a in argv)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out == ["1", "None", "None"], out


def test_heapscope_python_starts_python_unprofiled_when_the_shim_cannot_be_used() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "HEAPSCOPE_ENABLE")}
    env["HEAPSCOPE_PYTHON"] = sys.executable
    env["HEAPSCOPE_SHIM_PATH"] = "/nonexistent/libheapscope.so"
    code = "import os, ctypes; print(hasattr(ctypes.CDLL(None), 'heapscope_active')); print(os.environ['HEAPSCOPE_SHIM_ERROR'])"
    out = subprocess.run(
        [str(REMOTE / "heapscope-python"), "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    assert out[0] == "False"
    assert re.search(r"not found at /nonexistent/libheapscope\.so.*unprofiled", out[1]), out[1]


def test_the_command_line_beside_the_gateway_says_it_needs_the_cli_extra(tmp_path: Path) -> None:
    """The kernel side installs beside EG 3.3 (jupyter_client 6.1); `heapscope report` needs the `cli` extra's
    jupyter_client >= 7 and says so (exit status 2) instead of failing inside nbclient."""
    if not GATEWAY_PYTHON.is_file():
        why = f"{GATEWAY_PYTHON} is missing: run `bash scripts/gateway-env.sh` (scripts/setup.sh --tests does)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    notebook = tmp_path / "empty.ipynb"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    run = subprocess.run(
        [str(GATEWAY_PYTHON.parent / "heapscope"), "report", str(notebook), "--json", str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run
    assert "needs jupyter_client >= 7" in run.stderr and "heapscope[cli]" in run.stderr, run.stderr
    assert not (tmp_path / "out.json").exists()
