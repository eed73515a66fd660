"""Overhead suite: every workload under every configuration, interleaved, repeated; ratios to unprofiled.

    bash bench/run.sh [--rounds N] [--only churn,strings,...] [--configs unprofiled,memray,...]

Each round runs every workload under every configuration, the configurations in a rotated order so no
configuration always runs first or last. One unmeasured warm-up round comes first (page cache, .pyc files).
A configuration that cannot be installed or run is reported with its reason, never dropped silently.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

from heapscope.files import write_text

from . import configs as cfgs
from . import measure, peers, report
from .environment import BENCH_DIR, MAIN_PYTHON, blas_info, child_env, machine

WORKLOADS_DIR = BENCH_DIR / "workloads"
PROBE = "import numpy, pandas\nrows = [{'i': i} for i in range(1000)]\nprint('{\"work_s\": 0.0}')\n"


def _say(text: str) -> None:
    print(text, flush=True)


def _csv(value: str) -> List[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse(argv: List[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/run.sh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (default 1)")
    ap.add_argument("--only", type=_csv, default=None, help="workloads, comma-separated (default all)")
    ap.add_argument(
        "--configs",
        type=_csv,
        default=None,
        help=f"configurations, comma-separated (default all: {','.join(cfgs.BY_NAME)})",
    )
    ap.add_argument("--scale", type=float, default=1.0, help="workload size factor (BENCH_SCALE; default 1)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds before one run is killed")
    ap.add_argument("--no-install", action="store_true", help="do not create or install bench/.venv-peers")
    ap.add_argument(
        "--keep-openblas-env",
        action="store_true",
        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as set outside (default: unset both)",
    )
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default bench/results/<time>.json)")
    args = ap.parse_args(argv)
    all_workloads = sorted(p.stem for p in WORKLOADS_DIR.glob("*.py"))
    args.workloads = args.only or all_workloads
    for wl in args.workloads:
        if wl not in all_workloads:
            ap.error(f"unknown workload {wl!r} (have: {', '.join(all_workloads)})")
    names = args.configs or list(cfgs.BY_NAME)
    for name in names:
        if name not in cfgs.BY_NAME:
            ap.error(f"unknown configuration {name!r} (have: {', '.join(cfgs.BY_NAME)})")
    if report.BASE not in names:
        names.insert(0, report.BASE)  # every ratio needs it
    args.config_names = names
    return args


def check_configs(names: List[str], args: argparse.Namespace, env: Dict[str, str]) -> Dict[str, str]:
    """Install what is missing, probe each configuration once; {name: reason} for those that cannot run."""
    needs_peers = any(cfgs.BY_NAME[n].needs in peers.PEERS for n in names)
    state = peers.ensure(offline=args.no_install) if needs_peers else {}
    unavailable: Dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="heapscope-probe-") as tmp:
        probe = Path(tmp) / "probe.py"
        probe.write_text(PROBE)
        for name in names:
            cfg = cfgs.BY_NAME[name]
            reason = cfgs.static_check(cfg, state)
            if reason is None:
                res = measure.run(cfg.argv(probe, Path("{scratch}")), env, timeout=300)
                if res.get("error"):
                    reason = f"probe run failed: {res['error']}"
            if reason:
                unavailable[name] = reason
    return unavailable


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    env = child_env(scale=args.scale, keep_openblas_env=args.keep_openblas_env)
    started = dt.datetime.now().astimezone()
    mach = machine(args.keep_openblas_env)
    _say(
        f"heapscope bench — {started:%Y-%m-%d %H:%M %Z} — {mach['nproc']} CPUs, {mach['cpu_model']}, "
        f"Python {mach['python']}"
    )
    _say(
        f"pinned: {' '.join(f'{k}={v}' for k, v in mach['pinned_env'].items())}; "
        f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE {'kept' if args.keep_openblas_env else 'unset'} "
        f"(outside: {mach['openblas_env_outside']})"
    )

    unavailable = check_configs(args.config_names, args, env)
    if report.BASE in unavailable:
        _say(f"unprofiled baseline cannot run: {unavailable[report.BASE]}")
        return 2
    for name in args.config_names:
        _say(f"  {name:<18} {'not available (' + unavailable[name] + ')' if name in unavailable else 'ok'}")
    if any(n.startswith("heapscope") for n in unavailable):
        _say(
            "heapscope: not available (" + next(unavailable[n] for n in unavailable if n.startswith("heapscope")) + ")"
        )
    active = [n for n in args.config_names if n not in unavailable]
    blas = blas_info(peers.PY if peers.PY.exists() else MAIN_PYTHON, env)

    runs: List[dict] = []
    total = args.warmup + args.rounds
    for rnd in range(-args.warmup, args.rounds):
        order = active[rnd % len(active) :] + active[: rnd % len(active)]
        for wl in args.workloads:
            script = WORKLOADS_DIR / f"{wl}.py"
            line = []
            for name in order:
                res = measure.run(cfgs.BY_NAME[name].argv(script, Path("{scratch}")), env, args.timeout)
                res.update(round=rnd, workload=wl, config=name)
                line.append(f"{name} {'ERR' if res.get('error') else format(res['wall_s'], '.2f') + 's'}")
                if rnd >= 0:
                    runs.append(res)
            label = "warm-up" if rnd < 0 else f"round {rnd + 1}/{args.rounds}"
            _say(f"[{rnd + args.warmup + 1}/{total}] {label} {wl}: " + ", ".join(line))

    summary = report.summarize(runs, args.workloads, active)
    _say("\n" + report.table(summary, args.workloads, active, unavailable))
    _say("\n" + report.geomean_table(summary, args.config_names, unavailable))
    _say("")
    for line in report.verdicts(summary, args.workloads, unavailable):
        _say(line)
    load = report.load_note(runs, mach["nproc"] or 1)
    if load:
        _say(load)

    out = args.out or BENCH_DIR / "results" / f"{started:%Y-%m-%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "suite": "overhead",
        "started_at": started.isoformat(),
        "command": "bash bench/run.sh " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        "machine": mach,
        "blas": blas,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "scale": args.scale,
        "workloads": args.workloads,
        "configs": {
            n: {"what": cfgs.BY_NAME[n].what, "available": n not in unavailable, "reason": unavailable.get(n)}
            for n in args.config_names
        },
        "peers": json.loads(peers.STAMP.read_text()) if peers.STAMP.exists() else None,
        "summary": summary,
        "verdicts": report.verdicts(summary, args.workloads, unavailable),
        "load": load,
        "runs": runs,
    }
    write_text(out, json.dumps(doc, indent=1))
    _say(f"\nraw results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
