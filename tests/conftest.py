"""Shared fixtures: real kernels from the *installed* kernelspecs (build and install the wheel first:
see tests/README.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Every kernel the tests start validates each message it sends against its schema (heapscope._env).
os.environ.setdefault("HEAPSCOPE_CHECK_MESSAGES", "1")

from kernel_session import KernelSession


@pytest.fixture(scope="session")
def installed() -> Path:
    """The heapscope kernelspec and package as pip installed them into this environment."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("heapscope")
    except NoSuchKernel:
        pytest.fail("the heapscope kernelspec is not installed: build and install the wheel (tests/README.md)")
    resource_dir = Path(spec.resource_dir).resolve()
    if Path(sys.prefix).resolve() not in resource_dir.parents:
        pytest.fail(f"the heapscope kernelspec at {resource_dir} is not the one installed in {sys.prefix}")
    return resource_dir


@pytest.fixture
def start_kernel(installed: Path) -> Iterator[Callable[..., KernelSession]]:
    """``start_kernel(name, env=None)``: a running kernel, shut down after the test."""
    sessions: List[KernelSession] = []

    def start(kernel_name: str = "heapscope", env: Optional[Dict[str, str]] = None) -> KernelSession:
        session = KernelSession(kernel_name, env)
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close()


@pytest.fixture
def heapscope_kernel(start_kernel) -> KernelSession:
    return start_kernel("heapscope")


@pytest.fixture
def python3_kernel(start_kernel) -> KernelSession:
    return start_kernel("python3")
