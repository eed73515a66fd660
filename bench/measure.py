"""Run one command and measure it from outside: wall time of the whole process tree, peak RSS and CPU
time from os.wait4 (the child's own rusage, which includes every descendant it waited for), and the
workload's own timing if the script printed a JSON line with "work_s"."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional


def _work_seconds(stdout: str) -> Optional[float]:
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{") and '"work_s"' in line:
            try:
                return float(json.loads(line)["work_s"])
            except (ValueError, KeyError, TypeError):
                return None
    return None


def _tail(text: str, n: int = 3) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])[-400:]


def run(argv: List[str], env: Dict[str, str], timeout: float, keep: Optional[Path] = None) -> Dict[str, object]:
    scratch = Path(tempfile.mkdtemp(prefix="heapscope-bench-"))
    out_path, err_path = scratch / "stdout.txt", scratch / "stderr.txt"
    result: Dict[str, object] = {"argv": argv}
    timed_out = threading.Event()
    try:
        result["loadavg_1m"] = float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    try:
        argv = [a.replace("{scratch}", str(scratch)) for a in argv]
        with out_path.open("w") as out, err_path.open("w") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=scratch, start_new_session=True
            )

            def kill() -> None:
                timed_out.set()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

            timer = threading.Timer(timeout, kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            try:  # helpers a profiler left behind in the run's own session
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
        result.update(
            rc=proc.returncode,
            wall_s=wall,
            maxrss_kb=usage.ru_maxrss,
            cpu_s=usage.ru_utime + usage.ru_stime,
            work_s=_work_seconds(stdout),
        )
        if timed_out.is_set():
            result["error"] = f"timed out after {timeout:.0f} s"
        elif proc.returncode != 0:
            result["error"] = f"exit {proc.returncode}: {_tail(stderr) or _tail(stdout)}"
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for item in scratch.iterdir():
                shutil.move(str(item), str(keep / item.name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result
