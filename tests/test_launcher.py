"""The kernel launcher's decisions about the shim: which library it may preload, and the real reason
when it cannot (the loader's own words, a crash's signal), never blaming the shim for the user's
own LD_PRELOAD."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from heapscope import launcher

SHIM = launcher.packaged_shim()


def _cc() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a test library")
    return cc


def _library(tmp_path: Path, name: str, source: str) -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / f"{name}.so"
    subprocess.run([_cc(), "-shared", "-fPIC", "-o", str(out), str(src)], check=True, capture_output=True)
    return out


def test_relative_shim_path_is_refused(tmp_path, monkeypatch):
    """A relative HEAPSCOPE_SHIM_PATH would load a library from the folder the kernel starts in (the
    notebook's): a working library planted there must not be used."""
    shutil.copy(SHIM, tmp_path / "libheapscope.so")
    monkeypatch.chdir(tmp_path)
    for relative in ("libheapscope.so", "./libheapscope.so"):
        shim, problem = launcher.find_shim({"HEAPSCOPE_SHIM_PATH": relative})
        assert shim is None
        assert problem is not None and "absolute path" in problem and "unprofiled" in problem
    env, problem = launcher.kernel_environment({"HEAPSCOPE_SHIM_PATH": "libheapscope.so", "PATH": "/usr/bin:/bin"})
    assert problem is not None and "LD_PRELOAD" not in env


def test_absolute_shim_path_is_used(tmp_path):
    copy = tmp_path / "libheapscope.so"
    shutil.copy(SHIM, copy)
    shim, problem = launcher.find_shim({"HEAPSCOPE_SHIM_PATH": str(copy)})
    assert problem is None and shim == copy.resolve()


def test_truncated_shim_names_the_loaders_reason(tmp_path):
    """The loader says "file too short"; the probe's Python then fails with an AttributeError, which
    is not the cause."""
    broken = tmp_path / "libheapscope.so"
    broken.write_bytes(SHIM.read_bytes()[:10])
    problem = launcher.probe_shim(broken, {"PATH": "/usr/bin:/bin"})
    assert problem is not None
    assert "file too short" in problem and str(broken) in problem
    assert "AttributeError" not in problem


def test_a_broken_entry_of_the_users_ld_preload_does_not_turn_profiling_off(tmp_path):
    broken = tmp_path / "libmine.so"
    broken.write_bytes(b"\x7fELF-not-really")
    notes: list = []
    env, problem = launcher.kernel_environment({"LD_PRELOAD": str(broken), "PATH": "/usr/bin:/bin"}, notes)
    assert problem is None, problem
    assert env["LD_PRELOAD"].split(":")[0] == str(SHIM.resolve())
    assert env["HEAPSCOPE_ENABLE"] == "1"
    assert len(notes) == 1 and str(broken) in notes[0] and "heapscope" not in notes[0].replace(str(tmp_path), "")


def test_a_missing_entry_of_the_users_ld_preload_is_a_note(tmp_path):
    missing = tmp_path / "nothere.so"
    notes: list = []
    _, problem = launcher.kernel_environment({"LD_PRELOAD": str(missing), "PATH": "/usr/bin:/bin"}, notes)
    assert problem is None, problem
    assert notes and str(missing) in notes[0]


def test_a_shim_that_crashes_on_load_names_the_signal(tmp_path):
    crashing = _library(
        tmp_path,
        "libcrash",
        "#include <stdio.h>\n#include <stdlib.h>\n__attribute__((constructor)) static void boom(void) "
        '{ fputs("crash-test: giving up\\n", stderr); abort(); }\n',
    )
    problem = launcher.probe_shim(crashing, {"PATH": "/usr/bin:/bin"})
    assert problem is not None
    assert "SIGABRT" in problem and "crash-test: giving up" in problem
    assert "exit status -6" not in problem


def test_a_library_without_the_shims_functions_is_named(tmp_path):
    other = _library(tmp_path, "libother", "int nothing_here(void) { return 0; }\n")
    problem = launcher.probe_shim(other, {"PATH": "/usr/bin:/bin"})
    assert problem is not None and str(other) in problem and "unprofiled" in problem


def test_supported_range_is_written_as_people_read_it():
    low, high = launcher.SUPPORTED_PYTHONS
    assert launcher.supported_range() == f"{low[0]}.{low[1]}–{high[0]}.{high[1]}"
    assert launcher.supported_range() in (launcher.python_problem((3, 8)) or "")
