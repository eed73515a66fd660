"""Turn raw runs into ratios, tables and PASS/MISS lines.

Wall-time ratios are paired: each run is divided by the unprofiled run of the same workload in the same
round, so slow drifts of the machine cancel; the table shows the median ratio and its min-max over rounds.
CPU ratios (user+sys of the process tree) are paired the same way; they move less than wall time when
other processes share the machine. Peak RSS ratios are medians over medians. The geometric mean is over the workloads' median ratios.
"""

from __future__ import annotations

import math
import statistics
from typing import Dict, List, Optional

BASE = "unprofiled"
TARGETS = {"heapscope-default": 1.15, "heapscope-exact": 2.0}


def _median(xs: List[float]) -> Optional[float]:
    return statistics.median(xs) if xs else None


def summarize(runs: List[dict], workloads: List[str], configs: List[str]) -> Dict[str, dict]:
    """{config: {workload: stats}} from runs of the form {round, workload, config, wall_s, maxrss_kb, ...}."""
    base = {(r["round"], r["workload"]): r for r in runs if r["config"] == BASE and not r.get("error")}
    out: Dict[str, dict] = {}
    for cfg in configs:
        per: Dict[str, dict] = {}
        for wl in workloads:
            mine = [r for r in runs if r["config"] == cfg and r["workload"] == wl]
            ok = [r for r in mine if not r.get("error")]
            errors = sorted({r["error"] for r in mine if r.get("error")})
            ratios = [r["wall_s"] / base[(r["round"], wl)]["wall_s"] for r in ok if (r["round"], wl) in base]
            cpu = [r["cpu_s"] / base[(r["round"], wl)]["cpu_s"] for r in ok if (r["round"], wl) in base]
            work = [
                r["work_s"] / base[(r["round"], wl)]["work_s"]
                for r in ok
                if (r["round"], wl) in base and r.get("work_s") and base[(r["round"], wl)].get("work_s")
            ]
            base_rss = _median([b["maxrss_kb"] for (rnd, w), b in base.items() if w == wl])
            rss = _median([r["maxrss_kb"] for r in ok])
            per[wl] = {
                "n": len(ok),
                "failed": len(mine) - len(ok),
                "errors": errors,
                "wall_s_median": _median([r["wall_s"] for r in ok]),
                "wall_ratio_median": _median(ratios),
                "wall_ratio_min": min(ratios) if ratios else None,
                "wall_ratio_max": max(ratios) if ratios else None,
                "cpu_ratio_median": _median(cpu),
                "work_ratio_median": _median(work),
                "maxrss_kb_median": rss,
                "rss_ratio": rss / base_rss if rss and base_rss else None,
            }
        meds = [s["wall_ratio_median"] for s in per.values() if s["wall_ratio_median"]]
        rss = [s["rss_ratio"] for s in per.values() if s["rss_ratio"]]
        cpu = [s["cpu_ratio_median"] for s in per.values() if s["cpu_ratio_median"]]
        out[cfg] = {
            "workloads": per,
            "geomean_wall": math.exp(statistics.fmean(map(math.log, meds))) if meds else None,
            "geomean_cpu": math.exp(statistics.fmean(map(math.log, cpu))) if cpu else None,
            "geomean_rss": math.exp(statistics.fmean(map(math.log, rss))) if rss else None,
            "complete": len(meds) == len(workloads),
        }
    return out


def _f(x: Optional[float], fmt: str = "{:.2f}") -> str:
    return "–" if x is None else fmt.format(x)


def table(summary: Dict[str, dict], workloads: List[str], configs: List[str], unavailable: Dict[str, str]) -> str:
    rows = [
        "| workload | configuration | wall × (median) | wall × min–max | CPU × | work × | peak RSS × | wall s | RSS MiB | runs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for wl in workloads:
        for cfg in configs:
            if cfg in unavailable:
                continue
            s = summary[cfg]["workloads"][wl]
            if s["n"] == 0:
                rows.append(f"| {wl} | {cfg} | FAILED | {'; '.join(s['errors'])[:120]} | | | | | | 0/{s['failed']} |")
                continue
            spread = f"{_f(s['wall_ratio_min'])}–{_f(s['wall_ratio_max'])}"
            rows.append(
                f"| {wl} | {cfg} | {_f(s['wall_ratio_median'])} | {spread} | {_f(s['cpu_ratio_median'])} "
                f"| {_f(s['work_ratio_median'])} "
                f"| {_f(s['rss_ratio'])} | {_f(s['wall_s_median'])} | {_f((s['maxrss_kb_median'] or 0) / 1024, '{:.0f}')} "
                f"| {s['n']}/{s['n'] + s['failed']} |"
            )
    return "\n".join(rows)


def geomean_table(summary: Dict[str, dict], configs: List[str], unavailable: Dict[str, str]) -> str:
    rows = [
        "| configuration | wall × geomean | CPU × geomean | peak RSS × geomean | note |",
        "|---|---:|---:|---:|---|",
    ]
    for cfg in configs:
        if cfg in unavailable:
            rows.append(f"| {cfg} | – | – | – | not available: {unavailable[cfg]} |")
            continue
        s = summary[cfg]
        note = "" if s["complete"] else "incomplete: failed on some workloads"
        rows.append(f"| {cfg} | {_f(s['geomean_wall'])} | {_f(s['geomean_cpu'])} | {_f(s['geomean_rss'])} | {note} |")
    return "\n".join(rows)


def verdicts(summary: Dict[str, dict], workloads: List[str], unavailable: Dict[str, str]) -> List[str]:
    """PASS/MISS lines against issue 5's targets for the heapscope rows."""
    lines = []
    for cfg, limit in TARGETS.items():
        if cfg in unavailable or cfg not in summary:
            lines.append(
                f"PENDING  {cfg} geomean ≤ {limit:.2f}×: "
                f"{'not measured' if cfg not in unavailable else 'heapscope not available'}"
            )
            continue
        g, complete = summary[cfg]["geomean_wall"], summary[cfg]["complete"]
        ok = g is not None and complete and g <= limit
        lines.append(
            f"{'PASS' if ok else 'MISS'}     {cfg} geomean ≤ {limit:.2f}×: {_f(g)}×"
            + ("" if complete else " (failed on some workloads)")
        )
    cfg = "heapscope-default"
    if cfg in unavailable or cfg not in summary or "memray" not in summary or "memray" in unavailable:
        why = "heapscope not available" if cfg in unavailable else "memray or heapscope not measured"
        lines.append(f"PENDING  {cfg} faster than memray on every workload: {why}")
    else:
        slower = []
        for wl in workloads:
            h = summary[cfg]["workloads"][wl]["wall_ratio_median"]
            m = summary["memray"]["workloads"][wl]["wall_ratio_median"]
            if h is None or m is None or h >= m:
                slower.append(f"{wl} ({_f(h)}× vs {_f(m)}×)")
        lines.append(
            ("PASS     " if not slower else "MISS     ")
            + f"{cfg} faster than memray on every workload"
            + ("" if not slower else ": not on " + ", ".join(slower))
        )
    return lines


def load_note(runs: List[dict], nproc: int) -> Optional[str]:
    """A warning when other processes shared the CPUs (1-minute load average at the start of each run)."""
    loads = sorted(r["loadavg_1m"] for r in runs if r.get("loadavg_1m") is not None)
    if not loads:
        return None
    med, top = statistics.median(loads), loads[-1]
    if med <= max(1.0, nproc - 0.5):
        return f"machine load: median {med:.1f}, max {top:.1f} on {nproc} CPUs (quiet enough)"
    return (
        f"WARNING: machine load median {med:.1f}, max {top:.1f} on {nproc} CPUs: other processes shared the "
        f"CPUs; wall ratios are noisy (CPU × moves less). Re-run on a quiet machine before quoting."
    )
