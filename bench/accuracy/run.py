"""Accuracy suite: does each tool put the bytes held at the peak on the line that allocated them?

    bash bench/accuracy.sh [--only churn,numpy_arrays,...] [--tools tracemalloc,memray,...]

For every case in bench/accuracy/cases/ (a script whose allocating lines carry `# truth[large|small]: NAME`):
run it once plainly to learn the true sizes, then under each tool, and compare, per line, the bytes the tool
holds at the peak with the truth:
  large on line   sum over large-allocation lines of min(attributed, truth) / sum of truth  (target ≥ 99 %)
  small error     sum over small-object lines of |attributed - truth| / sum of truth (target ≤ 5 % exact,
                  ≤ 10 % default); shown against the requested sizes and against pymalloc's block sizes
                  (heapscope is judged against the block sizes: the heap bytes it reports)
  case peak error (bytes the tool holds at the peak on any line of the case, set-up before _acc.begin()
                  excluded) / (sum of truth) - 1                                      (target within 1 %)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

from heapscope.files import write_text

from .. import configs, peers
from ..environment import BENCH_DIR, child_env, machine
from . import tools
from . import truth as truth_mod

CASES_DIR = Path(__file__).resolve().parent / "cases"
TARGET_LARGE = 0.99
TARGET_SMALL = {"heapscope-exact": 0.05, "heapscope-default": 0.10}
TARGET_PEAK = 0.01


def _csv(value: str) -> List[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def score(case: truth_mod.Case, truth: Dict, got: Dict) -> Dict[str, Optional[float]]:
    sizes, blocks = truth["sizes"], truth["blocks_by_line"]
    per_line: Dict[int, int] = {}
    kinds: Dict[int, str] = {}
    for name, (line, kind) in case.marks.items():
        per_line[line] = per_line.get(line, 0) + sizes.get(name, 0)
        kinds[line] = kind
    lines = got["lines"]
    large = [ln for ln, k in kinds.items() if k == "large"]
    small = [ln for ln, k in kinds.items() if k == "small"]
    large_t = sum(per_line[ln] for ln in large)
    small_t = sum(per_line[ln] for ln in small)
    total_t = sum(per_line.values())
    held = sum(b for ln, b in lines.items() if ln not in case.setup_lines)
    return {
        "large_on_line": sum(min(lines.get(ln, 0), per_line[ln]) for ln in large) / large_t if large_t else None,
        "small_error": sum(abs(lines.get(ln, 0) - per_line[ln]) for ln in small) / small_t if small_t else None,
        # the same against pymalloc's block sizes (16-byte size classes) instead of the requested sizes
        "small_error_blocks": (
            sum(abs(lines.get(ln, 0) - blocks.get(ln, 0)) for ln in small) / sum(blocks.get(ln, 0) for ln in small)
            if small and all(blocks.get(ln) for ln in small)
            else None
        ),
        "peak_error": held / total_t - 1 if total_t else None,
        # the same with the small lines' truth in pymalloc's block bytes: the heap the program really holds
        "peak_error_blocks": (
            held / (total_t - small_t + sum(blocks.get(ln, 0) for ln in small)) - 1
            if total_t and small and all(blocks.get(ln) for ln in small)
            else None
        ),
        "truth_bytes": total_t,
        "held_bytes": held,
        "per_line": {
            str(ln): {"truth": per_line[ln], "truth_blocks": blocks.get(ln), "got": lines.get(ln, 0)} for ln in per_line
        },
    }


def _pct(x: Optional[float], signed: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x * 100:+.2f} %" if signed else f"{x * 100:.1f} %"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/accuracy.sh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", type=_csv, default=None, help="cases, comma-separated (default all)")
    ap.add_argument("--tools", type=_csv, default=list(tools.TOOLS), help="tools, comma-separated")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--no-install", action="store_true", help="do not create or install bench/.venv-peers")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    all_cases = truth_mod.cases(CASES_DIR)
    cases = [c for c in all_cases if not args.only or c.name in args.only]
    for t in args.tools:
        if t not in tools.TOOLS:
            ap.error(f"unknown tool {t!r} (have: {', '.join(tools.TOOLS)})")
    env = child_env()
    started = dt.datetime.now().astimezone()
    unavailable: Dict[str, str] = {}
    if any(t.startswith("memray") for t in args.tools):
        state = peers.ensure(offline=args.no_install)
        reason = configs.static_check(configs.BY_NAME["memray"], state)
        if reason:
            unavailable.update({t: reason for t in args.tools if t.startswith("memray")})
    if any(t.startswith("heapscope") for t in args.tools):
        reason = configs.heapscope_missing()
        if reason:
            unavailable.update({t: reason for t in args.tools if t.startswith("heapscope")})
            print(f"heapscope: not available ({reason})", flush=True)

    results: List[Dict] = []
    rows = [
        "| case | tool | large on right line | small-object error (requested / blocks) | case peak error | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for case in cases:
        truth = tools.truth(case.path, env, args.timeout)
        for tool in args.tools:
            entry: Dict = {"case": case.name, "tool": tool, "truth": truth["sizes"]}
            if tool in unavailable:  # listed once under the table
                entry["unavailable"] = unavailable[tool]
                results.append(entry)
                continue
            try:
                got = tools.TOOLS[tool](case.path, env, args.timeout)
            except tools.Unavailable as exc:
                entry["unavailable"] = str(exc)
                rows.append(f"| {case.name} | {tool} | | | | not available: {exc} |")
            except Exception as exc:  # a tool that crashes on a case is a result, not a harness failure
                entry["error"] = f"{type(exc).__name__}: {exc}"[:400]
                rows.append(f"| {case.name} | {tool} | | | | FAILED: {entry['error'][:150]} |")
            else:
                s = score(case, truth, got)
                entry.update(
                    score=s,
                    raw={
                        "other": got.get("other"),
                        "peak_total": got.get("peak_total"),
                        "at_checkpoint": got.get("at_checkpoint"),
                    },
                )
                missed = [
                    n
                    for n, (ln, _k) in case.marks.items()
                    if got["lines"].get(ln, 0) < 0.9 * s["per_line"][str(ln)]["truth"]
                ]
                note = f"missed: {', '.join(missed)}" if missed else ""
                if tool == "tracemalloc" and got.get("at_checkpoint"):
                    gap = got["peak_total"] / got["at_checkpoint"] - 1
                    note += ("; " if note else "") + (
                        "checkpoint = peak"
                        if gap <= 0.01
                        else f"traced peak {gap * 100:.1f} % above the checkpoint (case design)"
                    )
                small = (
                    f"{_pct(s['small_error'])} / {_pct(s['small_error_blocks'])}"
                    if s["small_error"] is not None
                    else "–"
                )
                rows.append(
                    f"| {case.name} | {tool} | {_pct(s['large_on_line'])} | {small} "
                    f"| {_pct(s['peak_error'], True)} | {note} |"
                )
            results.append(entry)
            print(f"  {case.name} / {tool}: done", file=sys.stderr, flush=True)
    print("\n".join(rows))
    for tool in args.tools:
        if tool in unavailable:
            print(f"| (all) | {tool} | | | | not available: {unavailable[tool]} |")
    print()
    verdicts = _verdicts(results)
    for line in verdicts:
        print(line)
    out = args.out or BENCH_DIR / "results" / f"accuracy-{started:%Y-%m-%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(
        out,
        json.dumps(
            {
                "suite": "accuracy",
                "started_at": started.isoformat(),
                "command": "bash bench/accuracy.sh " + " ".join(sys.argv[1:] if argv is None else argv),
                "machine": machine(),
                "results": results,
                "verdicts": verdicts,
            },
            indent=1,
        ),
    )
    print(f"\nraw results: {out}")
    return 0


def _verdicts(results: List[Dict]) -> List[str]:
    lines = []
    for tool in ("heapscope-default", "heapscope-exact"):
        mine = [r for r in results if r["tool"] == tool]
        scored = [r for r in mine if "score" in r]
        if not mine:
            continue
        if not scored:
            why = next((r.get("unavailable") or r.get("error") for r in mine), "no result")
            lines.append(f"PENDING  {tool}: {why}")
            continue
        large_t = sum(
            sum(v["truth"] for v in r["score"]["per_line"].values())
            for r in scored
            if r["score"]["large_on_line"] is not None
        )
        large_ok = sum(
            r["score"]["large_on_line"] * sum(v["truth"] for v in r["score"]["per_line"].values())
            for r in scored
            if r["score"]["large_on_line"] is not None
        )
        share = large_ok / large_t if large_t else None
        if share is not None:
            lines.append(
                f"{'PASS' if share >= TARGET_LARGE else 'MISS'}     {tool} large bytes on "
                f"the right line ≥ 99 %: {_pct(share)}"
            )
        # heapscope reports heap bytes: a pymalloc block counts with its 16-byte size class, the memory
        # the program holds (as its totals do). So it is judged against that truth; the error against
        # the requested sizes (what tracemalloc reports) is printed beside it.
        small = [r["score"]["small_error_blocks"] for r in scored if r["score"].get("small_error_blocks") is not None]
        if small:
            requested = [r["score"]["small_error"] for r in scored if r["score"]["small_error"] is not None]
            lines.append(
                f"{'PASS' if max(small) <= TARGET_SMALL[tool] else 'MISS'}     {tool} "
                f"small-object error ≤ {TARGET_SMALL[tool] * 100:.0f} %: {_pct(max(small))} of the heap "
                f"(block) bytes ({_pct(max(requested))} of the requested bytes)"
            )
        peaks = [
            abs(
                r["score"]["peak_error_blocks"]
                if r["score"].get("peak_error_blocks") is not None
                else r["score"]["peak_error"]
            )
            for r in scored
            if r["score"]["peak_error"] is not None
        ]
        worst = max(peaks) if peaks else None
        failed = len(mine) - len(scored)
        ok = worst is not None and worst <= TARGET_PEAK and not failed
        lines.append(
            f"{'PASS' if ok else 'MISS'}     {tool} case peak within 1 % (heap bytes): worst {_pct(worst)}"
            + (f" ({failed} case(s) failed)" if failed else "")
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
