"""The post-mortem snapshot of a kernel and the recovery of its runs after it died (issue 12).

While the kernel lives, a private state file in :func:`heapscope.files.runtime_dir` holds its finished runs
and, while a run is open, the run with heap, RSS and top sites (written by the memory guard's thread,
:mod:`.guard`: refreshed every second while a run is open, sites at each new peak above half the limit).
The name is ``postmortem-<key hash>-<random>.json``, created exclusively ``0600``; it is removed on a clean
exit. A run's start and end are written on the cell's path, a line each, into a companion (``<name>.running.json``,
JSON lines: a head, then the open run or none at each start and end, and the runs that ended since the
whole snapshot was last written, which is at most once a second); the newer of the two wins. Neither is ``fsync``-ed: they must outlive the process,
not the machine. The next kernel for the same notebook (key: ``JPY_SESSION_NAME``, else the connection file) reads it:
the dead run comes back with status ``killed`` and ``post_mortem``. This module is the file
(:class:`Snapshots`), who may read it (:func:`session_key`), and what a dead kernel's snapshot becomes
(:func:`killed_run`, :func:`post_mortem_cause`, :func:`dead_kernel_run`, :func:`killed_message`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

from . import limits

SNAPSHOT_VERSION = 1
PREFIX = "postmortem-"
#: The companion file of a snapshot: the open run and the recently ended ones (``<name>.running.json``).
RUNNING_SUFFIX = ".running.json"
#: The most of a companion the next kernel reads (a second of runs: a Run All of small cells writes ~40 KB).
COMPANION_LIMIT = 8 << 20


def human(n: float) -> str:
    """Bytes as the messages show them: ``15.2 GB``, ``16 GB`` (decimal units)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            text = f"{n / size:.1f}"
            return (text[:-2] if text.endswith(".0") else text) + " " + unit
    return f"{int(n)} B"


def session_key(environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """What identifies "this notebook's kernel" across restarts: the notebook path the server gives
    (``JPY_SESSION_NAME``), else the connection file (kept by a restart), else None (no post-mortem)."""
    name = environ.get("JPY_SESSION_NAME")
    if name:
        return "session:" + name
    if "ipykernel" not in sys.modules:  # not a kernel (heapscope run): never import it here
        return None
    try:
        from ipykernel.connect import get_connection_file

        return "connection:" + os.path.abspath(get_connection_file())
    except Exception:
        return None


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class Snapshots:
    """The post-mortem state file of one kernel (see the module's docstring)."""

    def __init__(self, key: str, folder: Optional[str] = None):
        from .. import files

        self._files = files
        self.key = key
        self.folder = folder if folder is not None else str(files.runtime_dir())
        self.prefix = PREFIX + _key_hash(key) + "-"
        self.name: Optional[str] = None
        self._running_fd = -1  # the companion, appended to a line at a time ...
        self._running_of: Optional[str] = None  # ... of this snapshot
        self._offset = 0  # the companion's length
        self._companion_fresh = False  # the companion has had its start since the last whole snapshot

    def _create(self) -> str:
        if self.name is None:
            for _ in range(10):
                name = self.prefix + os.urandom(8).hex() + ".json"
                try:
                    self._files.create_private(name, b"{}", folder=self.folder, durable=False)
                except FileExistsError:
                    continue
                self.name = name
                break
            else:
                raise FileExistsError("could not create a post-mortem snapshot")
        return self.name

    # Neither file is fsync-ed: they must outlive this process (an OOM kill), not the machine; an fsync on
    # every run start cost ~2 ms per cell.

    def write(self, data: bytes) -> None:
        """Replace the whole snapshot (its history included: at most once a second, off the cell's path)."""
        self._files.write_private(self._create(), data, folder=self.folder, durable=False)
        self._companion_fresh = False  # the companion's runs are in it now: the next line starts it afresh

    def append(self, line: bytes, start: Callable[[], bytes]) -> None:
        """Add ``line`` (a JSON object and a newline) to the companion, on the cell's path: one short write.
        When the companion starts afresh (its first line, or the first since a whole snapshot), it is cut
        to ``start()`` (its head line, and the runs the whole snapshot does not have yet) first. Rewriting
        it whole instead cost ~0.7 ms a cell in a Run All (~40 KB: a second of runs)."""
        name = self._create()
        if self._running_of != name:
            self._close_running()
            self._running_fd = self._files.open_private(_running_name(name), folder=self.folder)
            self._running_of = name
            self._companion_fresh = False
        if not self._companion_fresh:
            line = start() + line
            os.ftruncate(self._running_fd, 0)
            self._offset = 0
            self._companion_fresh = True
        self._offset = self._files.append_private(self._running_fd, line, self._offset)

    def _close_running(self) -> None:
        if self._running_fd >= 0:
            os.close(self._running_fd)
        self._running_fd, self._running_of = -1, None

    def remove(self) -> None:
        self._close_running()
        if self.name is not None:
            self._files.remove_private(_running_name(self.name), folder=self.folder)
            self._files.remove_private(self.name, folder=self.folder)
            self.name = None

    def sweep(self, max_age: float = 7 * 86400) -> int:
        """Remove other notebooks' snapshots of dead kernels older than ``max_age`` seconds (notebooks never
        opened again) or keyed by a connection file that no longer exists (no restart can ask for them), and
        temporary files older than an hour; returns how many snapshots."""
        removed = 0
        try:
            listing = os.listdir(self.folder)
        except OSError:
            return 0
        for name in listing:  # temporary files of writes a killed kernel never finished
            stale = time.time() - _mtime(os.path.join(self.folder, name)) > 3600
            if name.startswith("." + PREFIX) and name.endswith(".tmp") and stale:
                self._files.remove_private(name, folder=self.folder)
        names = [
            n
            for n in listing
            if n.startswith(PREFIX) and not n.startswith(self.prefix) and not n.endswith(RUNNING_SUFFIX)
        ]
        for name in names:
            raw = self._files.read_private(name, folder=self.folder)
            try:
                content = json.loads(raw) if raw else {}
                pid, key = content.get("pid"), str(content.get("key") or "")
            except (ValueError, AttributeError):
                pid, key = None, ""
            if isinstance(pid, int) and _pid_alive(pid):
                continue
            # A connection file that is gone can never be reused by a restart: nobody will ask for it.
            orphan = key.startswith("connection:") and not os.path.exists(key[len("connection:") :])
            if not orphan and time.time() - _mtime(os.path.join(self.folder, name)) < max_age:
                continue
            self._files.remove_private(_running_name(name), folder=self.folder)
            if self._files.remove_private(name, folder=self.folder):
                removed += 1
        return removed

    def take_dead(self) -> List[dict]:
        """The snapshots of dead kernels with this key (read and removed), oldest first. A snapshot whose
        companion (the run that had just started) is newer takes its running run from it."""
        out: List[dict] = []
        try:
            names = sorted(
                n
                for n in os.listdir(self.folder)
                if n.startswith(self.prefix) and n.endswith(".json") and not n.endswith(RUNNING_SUFFIX)
            )
        except OSError:
            return out
        for name in names:
            if name == self.name:
                continue
            content, started = self._read(name), self._read_companion(_running_name(name))
            if content is None:  # (no whole snapshot yet: the companion alone)
                content = started
                if content is not None:
                    content["history"] = _merged(None, content.get("recent"))
            elif started is not None and (started.get("written_at") or 0) > (content.get("written_at") or 0):
                content["running"] = started.get("running")
                content["written_at"] = started.get("written_at")
                content["history"] = _merged(content.get("history"), started.get("recent"))
            if content is not None:
                pid = content.get("pid")
                if isinstance(pid, int) and pid != os.getpid() and _pid_alive(pid):
                    continue  # another live kernel for the same notebook: its file, not a dead one
                content["_mtime"] = _mtime(os.path.join(self.folder, name))
                out.append(content)
            self._files.remove_private(_running_name(name), folder=self.folder)
            self._files.remove_private(name, folder=self.folder)
        out.sort(key=lambda c: c.get("written_at") or 0)
        return out

    def _read(self, name: str) -> Optional[dict]:
        raw = self._files.read_private(name, folder=self.folder)
        try:
            content = json.loads(raw.decode("utf-8", "surrogatepass")) if raw else None
        except ValueError:
            return None
        return content if isinstance(content, dict) and content.get("key") == self.key else None

    def _read_companion(self, name: str) -> Optional[dict]:
        """The companion as one snapshot: its head line, then each line's time and open run (or none), the
        runs that ended (``recent``)."""
        raw = self._files.read_private(name, folder=self.folder, limit=COMPANION_LIMIT)
        lines = [line for line in self._files.json_lines(raw or b"") if isinstance(line, dict)]
        if not lines or lines[0].get("key") != self.key:
            return None
        content, recent = dict(lines[0]), []
        for line in lines[1:]:
            for field in ("written_at", "running"):
                if field in line:
                    content[field] = line[field]
            if "ended" in line:
                recent.append(line["ended"])
        content["recent"] = recent
        return content


def _merged(history: Any, recent: Any) -> List[Any]:
    """The whole snapshot's history, then the companion's runs that ended after it was written (those
    with a seq it does not have: the two may overlap by the runs that ended while it was being written)."""
    out = list(history) if isinstance(history, list) else []
    seqs = {r.get("seq") for r in out if isinstance(r, dict)}
    for run in recent if isinstance(recent, list) else []:
        if isinstance(run, dict) and (run.get("seq") is None or run.get("seq") not in seqs):
            out.append(run)
            seqs.add(run.get("seq"))
    return out


def _running_name(name: str) -> str:
    return name[: -len(".json")] + RUNNING_SUFFIX


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def post_mortem_cause(
    snapshot: Mapping[str, Any], oom_kills_now: Optional[int], exit_signal: Optional[int] = None
) -> str:
    """oom_kill when the cgroup's count went up since the snapshot; signal_near_limit when the kernel
    died by SIGKILL (when the caller knows) or, not knowing, with usage within 20 % of the limit at the last
    snapshot (up to a second old)."""
    before = snapshot.get("oom_kills")
    if isinstance(before, int) and oom_kills_now is not None and oom_kills_now > before:
        return "oom_kill"
    running = snapshot.get("running") or {}
    limit = (snapshot.get("memory_limit") or {}).get("bytes") or 0
    near = bool(limit) and (running.get("usage_bytes") or 0) >= 0.8 * limit
    if exit_signal is not None:
        return "signal_near_limit" if exit_signal == 9 and near else "unknown"
    return "signal_near_limit" if near else "unknown"


def _oom_kills_now(snapshot: Mapping[str, Any]) -> Optional[int]:
    """The OOM-kill count of the dead kernel's cgroup now (None when it is gone or was never known)."""
    path = snapshot.get("events_path")
    if not isinstance(path, str) or not path:
        return None
    return limits.oom_kills(limits.Limit(0, "cgroup", events_path=path))


def killed_run(snapshot: Mapping[str, Any], cause: str) -> Optional[dict]:
    """The CellRun (status killed, with post_mortem) of the run a dead kernel's snapshot was in."""
    running = snapshot.get("running")
    if not isinstance(running, dict):
        return None
    at = float(running.get("at") or snapshot.get("written_at") or time.time())
    heap = int(running.get("heap_bytes") or 0)
    start = int(running.get("start_bytes") or 0)
    peak = max(int(running.get("peak_bytes") or 0), heap, start)
    post: Dict[str, Any] = {
        "heap_bytes": heap,
        "rss_bytes": int(running.get("rss_bytes") or 0),
        "usage_bytes": int(running.get("usage_bytes") or 0),
        "limit": snapshot.get("memory_limit"),
        "at": at,
        "cause": cause,
        "pid": int(snapshot.get("pid") or 0),
        "top_at_peak": list(running.get("top_at_peak") or []),
    }
    run: Dict[str, Any] = {
        "cell_id": running.get("cell_id"),
        "execution_count": running.get("execution_count"),
        "source": running.get("source") or "",
        "start_bytes": start,
        "peak_bytes": peak,
        "end_bytes": heap,
        "status": "killed",
        "started_at": float(running.get("started_at") or at),
        "ended_at": at,
        "post_mortem": post,
    }
    if running.get("top_at_peak"):
        run["top_at_peak"] = list(running["top_at_peak"])
    if running.get("rss_start_bytes") is not None:
        run["rss_start_bytes"] = int(running["rss_start_bytes"])
        run["rss_peak_bytes"] = max(int(running.get("rss_peak_bytes") or 0), post["rss_bytes"], run["rss_start_bytes"])
        run["rss_end_bytes"] = post["rss_bytes"]
    return run


def recover_runs(snaps: Snapshots) -> List[dict]:
    """Dead kernels' runs for this notebook (their snapshots with ``snaps``' key): their finished runs, then
    the killed one."""
    out: List[dict] = []
    for snap in snaps.take_dead():
        history = snap.get("history")
        if isinstance(history, list):
            out.extend(r for r in history if isinstance(r, dict))
        run = killed_run(snap, post_mortem_cause(snap, _oom_kills_now(snap)))
        if run is not None:
            out.append(run)
    return out


def dead_kernel_run(connection_file: Optional[str], exit_code: Optional[int] = None) -> Optional[dict]:
    """For a parent (``heapscope report``) whose kernel died: the killed run from its snapshot (keyed by
    the connection file, as the kernel keys it without ``JPY_SESSION_NAME``), or None."""
    if not connection_file:
        return None
    try:
        snaps = Snapshots("connection:" + os.path.abspath(connection_file))
        dead = snaps.take_dead()
    except OSError:
        return None
    for snap in reversed(dead):
        oom_now = _oom_kills_now(snap)
        signal = -exit_code if isinstance(exit_code, int) and exit_code < 0 else None
        run = killed_run(snap, post_mortem_cause(snap, oom_now, signal))
        if run is not None:
            return run
    return None


def killed_message(run: Mapping[str, Any]) -> str:
    """One line for a killed run: cause, heap and RSS at the last snapshot."""
    post = run.get("post_mortem") or {}
    cause = {"oom_kill": "killed by the OOM killer", "signal_near_limit": "killed near its memory limit"}.get(
        str(post.get("cause")), "died"
    )
    limit = post.get("limit") or {}
    where = f" of {human(limit['bytes'])} ({limit.get('source')})" if limit.get("bytes") else ""
    return (
        f"{cause}; last seen with heap {human(post.get('heap_bytes') or 0)}, "
        f"RSS {human(post.get('rss_bytes') or 0)}{where}"
    )
