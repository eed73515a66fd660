"""heapscope.agent.limits over fake /proc and /sys trees, and the guard's settings and messages
(agent/guard.py) without a kernel."""

from __future__ import annotations

import itertools
import json
import os
import resource
import time

import pytest

from heapscope.agent import guard, limits

GB = 1 << 30


def tree(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


PROC = {"proc/self/statm": "1000 500 0 0 0 0 0\n", "proc/meminfo": "MemTotal: 32000000 kB\nMemAvailable: 20000000 kB\n"}


def test_cgroup_v2_smallest_ancestor_wins(tmp_path):
    root = tree(
        tmp_path,
        {
            **PROC,
            "proc/self/cgroup": "0::/user.slice/app/kernel\n",
            "sys/fs/cgroup/cgroup.controllers": "memory\n",
            "sys/fs/cgroup/user.slice/memory.max": "max\n",
            "sys/fs/cgroup/user.slice/app/memory.max": f"{2 * GB}\n",
            "sys/fs/cgroup/user.slice/app/kernel/memory.max": f"{4 * GB}\n",
            "sys/fs/cgroup/user.slice/app/kernel/memory.high": f"{3 * GB}\n",
            "sys/fs/cgroup/user.slice/app/kernel/memory.current": "123456\n",
            "sys/fs/cgroup/user.slice/app/kernel/memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n",
        },
    )
    found = {c.source: c for c in limits.cgroup_limits(root)}
    assert found["cgroup"].bytes == 2 * GB  # the parent's limit covers the child
    assert found["cgroup_high"].bytes == 3 * GB
    best = limits.effective_limit(root, with_rlimits=False)
    assert (best.bytes, best.source) == (2 * GB, "cgroup")
    assert best.to_dict() == {"bytes": 2 * GB, "source": "cgroup"}
    assert limits.usage_bytes(best, root) == 123456
    assert limits.oom_kills(best) == 2


def test_cgroup_v1_limit_and_memsw(tmp_path):
    root = tree(
        tmp_path,
        {
            **PROC,
            "proc/self/cgroup": "9:pids:/\n4:memory:/jobs/k1\n1:cpu,cpuacct:/\n",
            "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
            "sys/fs/cgroup/memory/jobs/k1/memory.limit_in_bytes": f"{GB}\n",
            "sys/fs/cgroup/memory/jobs/k1/memory.memsw.limit_in_bytes": f"{GB // 2}\n",
            "sys/fs/cgroup/memory/jobs/k1/memory.usage_in_bytes": "777\n",
            "sys/fs/cgroup/memory/jobs/k1/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n",
        },
    )
    best = limits.effective_limit(root, with_rlimits=False)
    assert (best.bytes, best.source) == (GB // 2, "cgroup_v1_memsw")
    assert limits.usage_bytes(best, root) == 777
    assert limits.oom_kills(best) == 5


def test_the_machine_when_no_cgroup_limits(tmp_path):
    root = tree(
        tmp_path,
        {
            **PROC,
            "proc/self/cgroup": "0::/\n",
            "sys/fs/cgroup/cgroup.controllers": "memory\n",
            "sys/fs/cgroup/memory.max": "max\n",
        },
    )
    best = limits.effective_limit(root, with_rlimits=False)
    page = os.sysconf("SC_PAGE_SIZE")
    assert best.source == "available" and best.bytes == 20000000 * 1024 + 500 * page
    assert best.usage_kind == limits.USAGE_RSS and limits.usage_bytes(best, root) == 500 * page


def test_no_proc_no_limit(tmp_path):
    assert limits.effective_limit(str(tmp_path), with_rlimits=False) is None


def test_rlimit_as_is_read_and_counts_the_address_space():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (64 * GB, hard))
    try:
        found = {c.source: c for c in limits.rlimits()}
        assert found["rlimit_as"].bytes == 64 * GB and found["rlimit_as"].usage_kind == limits.USAGE_VM
        assert limits.usage_bytes(found["rlimit_as"]) == limits.statm()[0] > limits.statm()[1] > 0
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, (True, 0.95, 0.80, 0)),
        ({"HEAPSCOPE_GUARD": "off"}, (False, 0.95, 0.80, 0)),
        ({"HEAPSCOPE_GUARD_HARD": "0.9", "HEAPSCOPE_GUARD_SOFT": "0.5"}, (True, 0.9, 0.5, 0)),
        ({"HEAPSCOPE_GUARD_HARD": "1.5"}, (True, 0.95, 0.80, 1)),
        ({"HEAPSCOPE_GUARD": "maybe"}, (True, 0.95, 0.80, 1)),
        ({"HEAPSCOPE_GUARD_HARD": "0.7"}, (True, 0.7, 0.7, 1)),
    ],
)
def test_guard_settings_from_env(env, expected):
    on, hard, soft, problems = guard.settings_from_env(env)
    assert (on, hard, soft, len(problems)) == expected


def test_messages_use_decimal_units():
    assert guard.human(15.2e9) == "15.2 GB" and guard.human(16e9) == "16 GB" and guard.human(512) == "512 B"


def test_a_dead_kernels_snapshot_becomes_a_killed_run(tmp_path):
    snaps = guard.Snapshots("session:nb.ipynb", folder=str(tmp_path))
    snapshot = {
        "version": 1,
        "key": "session:nb.ipynb",
        "pid": 2**22 + 12345,  # no such process
        "written_at": 100.0,
        "memory_limit": {"bytes": 1000, "source": "cgroup_v1"},
        "oom_kills": 0,
        "running": {
            "seq": 3,
            "cell_id": "c3",
            "execution_count": 3,
            "source": "x = big()",
            "started_at": 90.0,
            "start_bytes": 10,
            "peak_bytes": 950,
            "heap_bytes": 940,
            "rss_bytes": 960,
            "usage_bytes": 990,
            "rss_start_bytes": 50,
            "at": 99.0,
            "top_at_peak": [],
        },
        "history": [
            {
                "cell_id": "c1",
                "execution_count": 1,
                "source": "a = 1",
                "start_bytes": 1,
                "peak_bytes": 2,
                "end_bytes": 1,
                "status": "ok",
                "started_at": 1.0,
                "ended_at": 2.0,
            }
        ],
    }
    snaps.write(json.dumps(snapshot).encode())
    name = snaps.name
    assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    snaps.name = None  # the next kernel: another object with the same key
    again = guard.Snapshots("session:nb.ipynb", folder=str(tmp_path))
    dead = again.take_dead()
    assert len(dead) == 1 and not (tmp_path / name).exists()
    run = guard.killed_run(dead[0], guard.post_mortem_cause(dead[0], 1))
    assert run["status"] == "killed" and run["cell_id"] == "c3"
    assert run["post_mortem"]["cause"] == "oom_kill" and run["post_mortem"]["heap_bytes"] == 940
    assert guard.post_mortem_cause(dead[0], 0) == "signal_near_limit"  # 990 of 1000, SIGKILL unknown
    assert guard.post_mortem_cause({**dead[0], "running": {"usage_bytes": 10}}, 0) == "unknown"
    from heapscope.agent import protocol

    assert protocol.validate_cell_record({**run, "seq": 4}) is None


def test_a_live_kernels_snapshot_is_left_alone(tmp_path):
    snaps = guard.Snapshots("k", folder=str(tmp_path))
    snaps.write(json.dumps({"key": "k", "pid": os.getppid(), "running": None}).encode())
    other = guard.Snapshots("k", folder=str(tmp_path))
    assert other.take_dead() == [] and (tmp_path / snaps.name).exists()


def test_old_snapshots_of_other_notebooks_are_swept(tmp_path):
    old = guard.Snapshots("other", folder=str(tmp_path))
    old.write(json.dumps({"key": "other", "pid": 2**22 + 7, "running": None}).encode())
    recent = guard.Snapshots("recent", folder=str(tmp_path))
    recent.write(json.dumps({"key": "recent", "pid": 2**22 + 8, "running": None}).encode())
    week = 8 * 86400
    os.utime(tmp_path / old.name, (time.time() - week, time.time() - week))
    mine = guard.Snapshots("mine", folder=str(tmp_path))
    assert mine.sweep() == 1
    assert not (tmp_path / old.name).exists() and (tmp_path / recent.name).exists()


def test_snapshots_of_a_connection_file_that_is_gone_are_swept_at_once(tmp_path):
    gone = guard.Snapshots("connection:" + str(tmp_path / "kernel-gone.json"), folder=str(tmp_path))
    gone.write(json.dumps({"key": gone.key, "pid": 2**22 + 9, "running": None}).encode())
    (tmp_path / "kernel-here.json").write_text("{}")
    here = guard.Snapshots("connection:" + str(tmp_path / "kernel-here.json"), folder=str(tmp_path))
    here.write(json.dumps({"key": here.key, "pid": 2**22 + 10, "running": None}).encode())
    assert guard.Snapshots("mine", folder=str(tmp_path)).sweep() == 1
    assert not (tmp_path / gone.name).exists() and (tmp_path / here.name).exists()


def _companion_line(snaps: guard.Snapshots, head: dict, written_at: float, running: dict) -> None:
    """A run start as the guard writes it into the companion (after its head line, when it starts afresh)."""
    start = (json.dumps({**head, "written_at": written_at, "running": None}) + "\n").encode()
    snaps.append((json.dumps({"written_at": written_at, "running": running}) + "\n").encode(), lambda: start)


def test_the_run_written_at_its_start_overrides_an_older_snapshot(tmp_path):
    """The run that just started is written on the cell's path into the snapshot's small companion file
    (the whole snapshot, history included, is the snapshot thread's): the next kernel takes the running run
    from whichever of the two was written last, keeps the history, and removes both files."""
    key = "session:nb.ipynb"
    snaps = guard.Snapshots(key, folder=str(tmp_path))
    head = {"version": 1, "key": key, "pid": 2**22 + 12345, "memory_limit": None, "oom_kills": None}
    history = [{"cell_id": "c1", "execution_count": 1, "source": "a = 1", "status": "ok"}]
    finished = {**head, "written_at": 100.0, "running": None, "history": history}
    running = {"seq": 2, "cell_id": "c2", "source": "crash()", "at": 101.0}
    snaps.write(json.dumps(finished).encode())
    _companion_line(snaps, head, 101.0, running)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and all(p.stat().st_mode & 0o777 == 0o600 for p in tmp_path.iterdir()), files
    snaps.name = None  # the next kernel
    dead = guard.Snapshots(key, folder=str(tmp_path)).take_dead()
    assert len(dead) == 1 and dead[0]["history"] == history
    run = guard.killed_run(dead[0], "unknown")
    assert run is not None and run["cell_id"] == "c2" and run["source"] == "crash()"
    assert not list(tmp_path.iterdir())

    # A companion older than the snapshot (the run ended and the thread wrote after it) is not taken.
    snaps = guard.Snapshots(key, folder=str(tmp_path))
    _companion_line(snaps, head, 50.0, running)
    snaps.write(json.dumps(finished).encode())
    snaps.name = None
    dead = guard.Snapshots(key, folder=str(tmp_path)).take_dead()
    assert len(dead) == 1 and guard.killed_run(dead[0], "unknown") is None
    assert not list(tmp_path.iterdir())


def test_runs_that_end_between_two_whole_snapshots_are_not_lost(tmp_path):
    """The snapshot thread writes the whole snapshot at most once a second; the runs that end in between
    go into the run-start companion, and the next kernel merges them into the history, each once."""
    key = "session:between.ipynb"
    limit = limits.Limit(bytes=8 * GB, source="machine")
    g = guard.MemoryGuard(environ={}, snapshots=guard.Snapshots(key, folder=str(tmp_path)), limit=limit)

    def run(seq, on=None):
        start = {"seq": seq, "cell_id": f"c{seq}", "execution_count": seq, "started_at": 1.0, "start_bytes": 10}
        (on or g).run_started(start, source=f"cell_{seq}()")
        return {"seq": seq, "cell_id": f"c{seq}", "status": "ok", "source": f"cell_{seq}()"}

    g.run_finished(run(1))
    g._write_snapshot()  # the thread's whole snapshot: run 1 in its history
    g.run_finished(run(2))
    g.run_finished(run(3))
    run(4)  # starts, and the kernel dies before the thread writes again
    assert g._unwritten == 2

    dead = guard.Snapshots(key, folder=str(tmp_path)).take_dead()  # the next kernel (same pid here)
    assert [r["seq"] for r in dead[0]["history"]] == [1, 2, 3]
    killed = guard.killed_run(dead[0], "unknown")
    assert killed is not None and killed["cell_id"] == "c4" and killed["source"] == "cell_4()"

    # A run that ended before the kill is not a killed run, whether or not a whole snapshot followed.
    g3 = guard.MemoryGuard(environ={}, snapshots=guard.Snapshots(key, folder=str(tmp_path)), limit=limit)
    finished = run(5, on=g3)
    g3.run_ended("ok")  # as the agent closes a run: its end, then the finished run
    g3.run_finished(finished)
    dead = guard.Snapshots(key, folder=str(tmp_path)).take_dead()
    assert [r["seq"] for r in dead[0]["history"]] == [5] and guard.killed_run(dead[0], "unknown") is None

    # After a whole snapshot, the companion of the next run carries no run twice.
    g2 = guard.MemoryGuard(environ={}, snapshots=guard.Snapshots(key, folder=str(tmp_path)), limit=limit)
    g2.run_finished({"seq": 1, "status": "ok"})
    g2._write_snapshot()
    assert g2._unwritten == 0
    g2.run_started({"seq": 2, "started_at": 1.0, "start_bytes": 0}, source="x")
    dead = guard.Snapshots(key, folder=str(tmp_path)).take_dead()
    assert [r["seq"] for r in dead[0]["history"]] == [1]


def test_a_companion_cut_short_by_a_kill_is_still_read(tmp_path):
    """The companion grows by a line at each run start and end: a kernel killed in the middle of a write
    leaves a cut last line, and the next kernel reads the lines before it."""
    from heapscope import files

    key = "session:cut.ipynb"
    snaps = guard.Snapshots(key, folder=str(tmp_path))
    head = {"version": 1, "key": key, "pid": 2**22 + 4321, "memory_limit": None, "oom_kills": None}
    snaps.write(json.dumps({**head, "written_at": 100.0, "running": None, "history": []}).encode())
    start = (json.dumps({**head, "written_at": 101.0, "running": None}) + "\n").encode()
    first = {"seq": 1, "source": "x()", "at": 101.0}
    snaps.append((json.dumps({"written_at": 101.0, "running": first}) + "\n").encode(), lambda: start)
    second = json.dumps({"written_at": 102.0, "running": None, "ended": {"seq": 1, "status": "ok"}}).encode()
    snaps.append(second[: len(second) // 2], lambda: b"")  # killed in the middle of the write
    companion = tmp_path / (snaps.name[: -len(".json")] + ".running.json")
    assert companion.stat().st_mode & 0o777 == 0o600
    assert [line["written_at"] for line in files.json_lines(companion.read_bytes())] == [101.0, 101.0]
    dead = guard.Snapshots(key, folder=str(tmp_path)).take_dead()
    assert guard.killed_run(dead[0], "unknown")["source"] == "x()"
    assert not list(tmp_path.iterdir())


def test_the_companion_grows_by_a_line_and_starts_afresh_after_a_whole_snapshot(tmp_path, monkeypatch):
    """A Run All of small cells: each run start and end adds one line to the companion (its size does not
    grow with the runs since the last whole snapshot); the next whole snapshot cuts it back."""
    # Times and RSS of one width: the lines then differ only by the runs' numbers, not by how many digits
    # a float's repr or the RSS happened to take (which made the size check below fail now and then).
    clock = itertools.count(1_764_900_000.25)  # a second a call: "newer" stays true, the width the same
    monkeypatch.setattr(guard.time, "time", lambda: next(clock))
    monkeypatch.setattr(limits, "rss_bytes", lambda: 123_456_789)
    key = "session:lines.ipynb"
    limit = limits.Limit(bytes=8 * GB, source="machine")
    g = guard.MemoryGuard(environ={}, snapshots=guard.Snapshots(key, folder=str(tmp_path)), limit=limit)
    g._write_snapshot()  # the whole snapshot, as the guard's thread writes it at start
    companion = tmp_path / (g.snapshots.name[: -len(".json")] + ".running.json")
    sizes = []
    for seq in range(1, 41):
        g.run_started({"seq": seq, "started_at": float(seq), "start_bytes": 0}, source=f"cell_{seq}()")
        g.run_ended("ok")
        g.run_finished({"seq": seq, "status": "ok", "source": f"cell_{seq}()"})
        sizes.append(companion.stat().st_size)
    steps = [b - a for a, b in zip(sizes, sizes[1:])]
    assert max(steps) - min(steps) <= 8, steps  # the same few hundred bytes a run, whatever came before
    # The next kernel (the same pid here, so read as a dead one's): every run, none twice, none open.
    recovered = guard.Snapshots(key, folder=str(tmp_path)).take_dead()
    assert [r["seq"] for r in recovered[0]["history"]] == list(range(1, 41))
    assert recovered[0]["running"] is None
    # After a whole snapshot, the first line cuts the companion back to its start.
    g2 = guard.MemoryGuard(environ={}, snapshots=guard.Snapshots(key, folder=str(tmp_path)), limit=limit)
    for seq in range(1, 21):
        g2.run_started({"seq": seq, "started_at": float(seq), "start_bytes": 0}, source="x")
        g2.run_ended("ok")
        g2.run_finished({"seq": seq, "status": "ok"})
    companion2 = tmp_path / (g2.snapshots.name[: -len(".json")] + ".running.json")
    long = companion2.stat().st_size
    g2._write_snapshot()
    g2.run_started({"seq": 21, "started_at": 21.0, "start_bytes": 0}, source="x")
    assert companion2.stat().st_size < long / 4
    recovered = guard.Snapshots(key, folder=str(tmp_path)).take_dead()
    assert [r["seq"] for r in recovered[0]["history"]] == list(range(1, 21))
    assert recovered[0]["running"]["seq"] == 21
