"""heapscope.files: every file the project writes — atomic, never through a planted link, umask for the
user's documents (reports JSON and HTML alike), 0600 for state files in a checked per-user folder."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from heapscope import files
from heapscope.html_report import write_html
from heapscope.report import write_json

TEMPLATE = "<html><script type='application/json'>@@HEAPSCOPE_REPORT_DATA@@</script></html>"
REPORT = {"heapscope_report": 1, "cells": []}


def _write_html(path: Path) -> None:
    write_html(REPORT, path, template=TEMPLATE)


def _write_json(path: Path) -> None:
    write_json(REPORT, path)


WRITERS = {"html": _write_html, "json": _write_json, "text": lambda p: files.write_text(p, "new\n")}


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def leftovers(folder: Path, keep: set) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """An unrelated file that a planted link points at: it must never change."""
    other = tmp_path / "elsewhere"
    other.mkdir()
    path = other / "precious.txt"
    path.write_text("precious\n")
    return path


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_link_planted_at_the_old_fixed_temporary_name_is_not_followed(kind, tmp_path, victim):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "report.out"
    for guess in (f".{out.name}.tmp", f"{out.name}.tmp", f".{out.name}", f"{out.name}~"):
        (out_dir / guess).symlink_to(victim)
    WRITERS[kind](out)
    assert victim.read_text() == "precious\n"
    assert out.is_file() and not out.is_symlink()
    assert out.read_text() != "precious\n"
    for guess in (f".{out.name}.tmp", f"{out.name}.tmp"):
        assert (out_dir / guess).is_symlink()  # left alone, not renamed onto the target


@pytest.mark.parametrize("dangling", [False, True])
def test_link_planted_at_the_chosen_temporary_name_is_refused(tmp_path, victim, monkeypatch, dangling):
    """Whatever name the writer picks, a link already there is never opened: O_EXCL|O_NOFOLLOW, then a
    fresh name."""
    target_of_link = tmp_path / "elsewhere" / "created-through-link" if dangling else victim
    planted = tmp_path / ".report.json.planted.tmp"
    planted.symlink_to(target_of_link)
    names = iter([planted.name, planted.name, ".report.json.fresh.tmp"])
    monkeypatch.setattr(files, "_temp_name", lambda _target: next(names))
    out = tmp_path / "report.json"
    files.write_text(out, "{}\n")
    assert out.read_text() == "{}\n" and not out.is_symlink()
    assert planted.is_symlink()
    if dangling:
        assert not target_of_link.exists()
    else:
        assert victim.read_text() == "precious\n"
    assert leftovers(tmp_path, {"report.json", planted.name, "elsewhere"}) == []


@pytest.mark.parametrize("kind", sorted(WRITERS))
@pytest.mark.parametrize("dangling", [False, True])
def test_link_at_the_target_is_replaced_not_followed(kind, tmp_path, victim, dangling):
    out = tmp_path / "report.out"
    pointed = tmp_path / "elsewhere" / "nothing-here" if dangling else victim
    out.symlink_to(pointed)
    WRITERS[kind](out)
    assert not out.is_symlink() and out.is_file()
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "elsewhere" / "nothing-here").exists()


@pytest.mark.parametrize("kind", sorted(WRITERS))
@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)], ids=["022", "002", "077"])
def test_documents_follow_the_umask(kind, tmp_path, mask, expected):
    out = tmp_path / f"report.{kind}"
    with umask(mask):
        WRITERS[kind](out)
    assert stat.S_IMODE(out.stat().st_mode) == expected


def test_private_files_are_0600_whatever_the_umask(tmp_path):
    out = tmp_path / "state"
    with umask(0o000):
        files.write_text(out, "exact\n", private=True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path):
    out = tmp_path / "report.json"
    out.write_text("old\n")
    with pytest.raises(RuntimeError), files.atomic_writer(out) as f:
        f.write("half")
        raise RuntimeError("stop")
    assert out.read_text() == "old\n"
    assert leftovers(tmp_path, {"report.json"}) == []


def test_a_folder_as_target_is_refused_before_writing(tmp_path):
    (tmp_path / "out.html").mkdir()
    with pytest.raises(IsADirectoryError):
        files.write_text(tmp_path / "out.html", "x")
    assert files.check_writable(tmp_path / "out.html") is not None
    assert leftovers(tmp_path, {"out.html"}) == []


def test_check_writable(tmp_path):
    assert files.check_writable(tmp_path / "new.json") is None
    assert "does not exist" in (files.check_writable(tmp_path / "missing" / "new.json") or "")
    (tmp_path / "a-file").write_text("")
    assert "is not a folder" in (files.check_writable(tmp_path / "a-file" / "new.json") or "")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    if os.access(ro, os.W_OK):  # root ignores the mode bits
        pytest.skip("running as root: every folder is writable")
    assert "not writable" in (files.check_writable(ro / "new.json") or "")


# --- state files -------------------------------------------------------------------------------------


@pytest.fixture
def runtime(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runtime"
    monkeypatch.setenv(files.RUNTIME_DIR_ENV, str(folder))
    return folder


def test_runtime_dir_is_created_private(runtime):
    assert files.runtime_dir() == runtime
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700


def test_runtime_dir_that_others_can_write_is_made_private(runtime):
    runtime.mkdir(mode=0o777)
    os.chmod(runtime, 0o777)
    files.runtime_dir()
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700


def test_runtime_dir_that_is_a_link_is_refused(runtime, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    runtime.symlink_to(real)
    with pytest.raises(files.UnsafeFolder):
        files.runtime_dir()


def test_runtime_dir_must_be_absolute(monkeypatch):
    monkeypatch.setenv(files.RUNTIME_DIR_ENV, "relative/dir")
    with pytest.raises(files.UnsafeFolder):
        files.runtime_dir()


def test_runtime_dir_default_is_per_user(monkeypatch, tmp_path):
    monkeypatch.delenv(files.RUNTIME_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert files.runtime_dir() == tmp_path / "heapscope"
    assert stat.S_IMODE((tmp_path / "heapscope").stat().st_mode) == 0o700


def test_create_private_is_exclusive_and_0600(runtime):
    with umask(0o000):
        path = files.create_private("kernel-1.mode", b"exact\n")
    assert path.parent == runtime
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert files.read_private("kernel-1.mode") == b"exact\n"
    with pytest.raises(FileExistsError):
        files.create_private("kernel-1.mode", b"default\n")
    assert files.read_private("kernel-1.mode") == b"exact\n"
    assert files.remove_private("kernel-1.mode") is True
    assert files.remove_private("kernel-1.mode") is False


@pytest.mark.parametrize("dangling", [False, True])
def test_create_private_refuses_a_planted_link(runtime, victim, dangling):
    files.runtime_dir()
    pointed = victim.parent / "created-through-link" if dangling else victim
    (runtime / "kernel-1.mode").symlink_to(pointed)
    with pytest.raises(FileExistsError):
        files.create_private("kernel-1.mode", b"exact\n")
    assert victim.read_text() == "precious\n"
    assert not (victim.parent / "created-through-link").exists()
    assert files.read_private("kernel-1.mode") is None  # a link is never read through
    assert files.remove_private("kernel-1.mode") is True  # the link goes, its target stays
    assert victim.exists()


def test_write_private_replaces_a_planted_link(runtime, victim):
    files.runtime_dir()
    (runtime / "kernel-1.mode").symlink_to(victim)
    files.write_private("kernel-1.mode", b"default\n")
    assert victim.read_text() == "precious\n"
    assert files.read_private("kernel-1.mode") == b"default\n"
    assert stat.S_IMODE((runtime / "kernel-1.mode").lstat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "x\0y"])
def test_state_file_names_are_plain(runtime, name):
    with pytest.raises(ValueError):
        files.create_private(name)
