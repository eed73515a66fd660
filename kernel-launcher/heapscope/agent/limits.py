"""The kernel's memory limit and its usage against it (issue 12 §1).

Every candidate limit is read here; the smallest wins:

- cgroup v2: ``memory.max`` and ``memory.high`` of the process's cgroup (``0::/path`` in
  ``/proc/self/cgroup``) and of each ancestor up to the root (a parent's limit covers its children);
- cgroup v1: ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes`` of the memory controller's
  cgroup (``N:memory:/path``, or a line listing ``memory`` among its controllers) and its ancestors;
- ``RLIMIT_AS`` (virtual memory: its usage is the process's VmSize) and ``RLIMIT_DATA``;
- the machine: ``MemAvailable`` + this process's RSS (what it could still get without swapping).

Usage against a limit is the cgroup's charge (v2 ``memory.current``, v1 ``memory.usage_in_bytes``) for a
cgroup limit, the VmSize for ``RLIMIT_AS``, and the RSS (``/proc/self/statm``) otherwise.

Pure functions take a ``root`` (``"/"`` on a real system) so tests can feed fake /proc and /sys trees.
"""

from __future__ import annotations

import os
import resource
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

#: Values at or above this are "no limit" (cgroup v1 writes 2^63 rounded down to a page).
UNLIMITED = 1 << 62

#: How the usage of a limit is read (the shim's ticker reads the same thing, see engine/guard.h).
USAGE_FILE = 0  # a file holding a byte count (cgroup memory.current / memory.usage_in_bytes)
USAGE_RSS = 1  # /proc/self/statm, resident pages
USAGE_VM = 2  # /proc/self/statm, total pages (the address space)

#: The `source` of a MemoryLimit (protocol/defs.schema.json#/$defs/MemoryLimit).
SOURCES = ("cgroup", "cgroup_high", "cgroup_v1", "cgroup_v1_memsw", "rlimit_as", "rlimit_data", "available")


class Limit(NamedTuple):
    bytes: int
    source: str
    usage_kind: int = USAGE_RSS
    usage_path: Optional[str] = None  # for USAGE_FILE
    events_path: Optional[str] = None  # cgroup memory.events (v2) / memory.oom_control (v1): oom kills

    def to_dict(self) -> dict:
        return {"bytes": int(self.bytes), "source": self.source}


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _number(text: Optional[str]) -> Optional[int]:
    """A cgroup limit file's value: bytes, or None for "max" / unreadable / unlimited."""
    if text is None:
        return None
    text = text.strip()
    if not text or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < UNLIMITED else None


def _join(root: str, *parts: str) -> str:
    return os.path.join(root, *(p.lstrip("/") for p in parts if p))


def cgroup_paths(text: str) -> Tuple[Optional[str], Optional[str]]:
    """``(v2 path, v1 memory path)`` from the text of /proc/self/cgroup (either may be None)."""
    v2 = v1 = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = path
    return v2, v1


def _present(values: Iterable[Optional[int]]) -> List[int]:
    return [v for v in values if v is not None]


def _ancestors(path: str) -> List[str]:
    """``/a/b`` → ``["/a/b", "/a", "/"]``."""
    out = []
    path = "/" + path.strip("/")
    while True:
        out.append(path)
        if path == "/":
            return out
        path = os.path.dirname(path)


def _mount(root: str, candidates: Tuple[str, ...], probe: str) -> Optional[str]:
    for c in candidates:
        if os.path.exists(_join(root, c, probe)):
            return _join(root, c)
    return None


def cgroup_limits(root: str = "/") -> List[Limit]:
    """Every cgroup limit that applies to this process (v2 and v1), smallest per kind."""
    text = _read(_join(root, "proc/self/cgroup"))
    if text is None:
        return []
    v2, v1 = cgroup_paths(text)
    out: List[Limit] = []
    if v2 is not None:
        mount = _mount(root, ("sys/fs/cgroup", "sys/fs/cgroup/unified"), "cgroup.controllers")
        if mount is not None:
            own = _join(mount, v2)
            usage = _join(own, "memory.current")
            events = _join(own, "memory.events")
            for name, source in (("memory.max", "cgroup"), ("memory.high", "cgroup_high")):
                found = _present(_number(_read(_join(mount, a, name))) for a in _ancestors(v2))
                if found:
                    out.append(Limit(min(found), source, USAGE_FILE, usage, events))
    if v1 is not None:
        mount = _mount(root, ("sys/fs/cgroup/memory", "sys/fs/cgroup/memory,cpuset"), "memory.limit_in_bytes")
        if mount is not None:
            own = _join(mount, v1)
            if not os.path.exists(_join(own, "memory.usage_in_bytes")):
                # A v1 path from another namespace (containers show "/" or a host path): the mount is ours.
                own = mount
            usage = _join(own, "memory.usage_in_bytes")
            events = _join(own, "memory.oom_control")
            for name, source in (
                ("memory.limit_in_bytes", "cgroup_v1"),
                ("memory.memsw.limit_in_bytes", "cgroup_v1_memsw"),
            ):
                found = _present(_number(_read(_join(mount, a, name))) for a in _ancestors(v1))
                if found:
                    out.append(Limit(min(found), source, USAGE_FILE, usage, events))
    return out


def rlimits() -> List[Limit]:
    out = []
    for which, source, kind in (
        (resource.RLIMIT_AS, "rlimit_as", USAGE_VM),
        (resource.RLIMIT_DATA, "rlimit_data", USAGE_VM),
    ):
        soft, _ = resource.getrlimit(which)
        if soft != resource.RLIM_INFINITY and 0 < soft < UNLIMITED:
            out.append(Limit(int(soft), source, kind))
    return out


_PAGE = os.sysconf("SC_PAGE_SIZE")
_statm_fd: Tuple[int, int] = (-1, -1)  # (pid, descriptor of /proc/<pid>/statm): read with pread, kept open


def _read_own_statm() -> Optional[str]:
    """This process's statm through a descriptor kept open (a read at every run start and end; opening
    the file each time cost ~50 µs). Reopened in a forked child (/proc/self was resolved at open)."""
    global _statm_fd
    pid, fd = _statm_fd
    try:
        if pid != os.getpid():
            if fd >= 0:
                os.close(fd)
            _statm_fd = (-1, -1)
            fd = os.open(f"/proc/{os.getpid()}/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            _statm_fd = (os.getpid(), fd)
        return os.pread(fd, 256, 0).decode("ascii", "replace")
    except OSError:
        return None


def statm(root: str = "/") -> Tuple[int, int]:
    """``(vm_bytes, rss_bytes)`` of this process (0, 0 when unreadable)."""
    text = _read_own_statm() if root == "/" else _read(_join(root, "proc/self/statm"))
    try:
        size, resident = text.split()[:2]  # type: ignore[union-attr]
        return int(size) * _PAGE, int(resident) * _PAGE
    except (AttributeError, ValueError):
        return 0, 0


def rss_bytes(root: str = "/") -> int:
    return statm(root)[1]


def meminfo(root: str = "/") -> Dict[str, int]:
    out = {}
    for line in (_read(_join(root, "proc/meminfo")) or "").splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            out[name] = int(fields[0]) * (1024 if fields[1:2] == ["kB"] else 1)
    return out


def available_limit(root: str = "/") -> Optional[Limit]:
    info = meminfo(root)
    if "MemAvailable" not in info:
        return None
    return Limit(info["MemAvailable"] + rss_bytes(root), "available", USAGE_RSS)


def effective_limit(root: str = "/", with_rlimits: bool = True) -> Optional[Limit]:
    """The smallest limit that applies (None when none can be read)."""
    candidates = cgroup_limits(root)
    if with_rlimits:
        candidates += rlimits()
    machine = available_limit(root)
    if machine is not None:
        candidates.append(machine)
    return min(candidates, key=lambda c: c.bytes) if candidates else None


def usage_bytes(limit: Limit, root: str = "/") -> int:
    """The usage counted against ``limit`` now."""
    if limit.usage_kind == USAGE_FILE and limit.usage_path:
        value = _number(_read(limit.usage_path))
        if value is not None:
            return value
    vm, rss = statm(root)
    return vm if limit.usage_kind == USAGE_VM else rss


def oom_kills(limit: Optional[Limit]) -> Optional[int]:
    """The cgroup's OOM-kill count (v2 memory.events ``oom_kill``, v1 memory.oom_control ``oom_kill``)."""
    if limit is None or not limit.events_path:
        return None
    for line in (_read(limit.events_path) or "").splitlines():
        name, _, value = line.partition(" ")
        if name == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None
