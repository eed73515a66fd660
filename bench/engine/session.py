"""Long sessions: does closing a cell get slower, and does profiler memory grow, as a kernel runs thousands of
cells? (issue 10, item 13)

One real heapscope kernel per mode, driven like bench/engine/latency.py (jupyter_client, the heapscope comm
open). After the set-up cells it runs ``cells`` ordinary cells (each calls 20 distinct functions that
allocate and keeps nothing), and reports, for a window of ``window`` cells around cell 100 and around the
last cell: the agent's close time (the CellRun's ``ended_at`` minus the cell's last statement), and per run
the growth of the engine's ``live_nodes`` (stack nodes that exist) and ``profiler_bytes`` (read with silent executes, which are not
cells).
"""

from __future__ import annotations

import statistics
import uuid
from typing import Any, Dict, List

from . import latency

CELL = "_hs_r = [f() for f in _hs_funcs[(_hs_i % 100) * 20:(_hs_i % 100) * 20 + 20]]\n_hs_i += 1"
#: --agent-work: the agent's cell start and end run inside Engine.agent_work() (profiler memory), as the
#: agent is meant to do it (issue 10, item 13); a preview until core.py does so itself.
AGENT_WORK = """
import heapscope.agent as _hs_agent_mod
_hs_ag = _hs_agent_mod._agent
def _hs_wrap(fn):
    def wrapped(*a, **k):
        with _hs_ag.engine.agent_work():
            return fn(*a, **k)
    return wrapped
_hs_ag.hooks._on_start = _hs_wrap(_hs_ag.hooks._on_start)
_hs_ag.hooks._on_end = _hs_wrap(_hs_ag.hooks._on_end)
"""
STATS = (
    "{k: v for k, v in __import__('heapscope._bridge')._bridge.stats().items() "
    "if k in ('stack_nodes', 'live_nodes', 'profiler_bytes', 'agent_bytes', 'current_bytes', 'stack_bytes', "
    "'table_bytes')}"
)


def run_mode(
    mode: str, cells: int, window: int, base_env: Dict[str, str], say, agent_work: bool = False
) -> Dict[str, Any]:
    client = latency.Client("heapscope", latency._env(base_env, mode))
    out: Dict[str, Any] = {"mode": mode, "cells": cells, "window": window, "agent_work": agent_work, "points": []}
    try:
        comm_id = uuid.uuid4().hex
        mark = len(client.log)
        client.send(
            "comm_open", {"comm_id": comm_id, "target_name": "heapscope", "data": {"protocol": 2, "type": "sync"}}
        )
        client.wait(lambda e: (latency._comm_data(e) or {}).get("type") == "history", timeout=60, after=mark)
        for code in latency.SETUP + ["_hs_i = 0"] + ([AGENT_WORK] if agent_work else []):
            client.execute(code)
        marks = sorted({m for m in (min(100, cells - window), cells // 2 - window, cells - window) if m >= 0})
        closes: List[float] = []
        for i in range(cells):
            at_mark = i in marks
            before = client.evaluate(STATS) if at_mark else None
            code = f"{CELL}\n_hs_t_end = _hs_time.time()"
            ex = client.execute(code, {"t_end": "_hs_t_end"})
            t_end = float(ex["reply"][2]["content"]["user_expressions"]["t_end"]["data"]["text/plain"])
            cell = client.wait(
                lambda e: (
                    (latency._comm_data(e) or {}).get("type") == "cell" and e[2]["content"].get("comm_id") == comm_id
                ),
                timeout=60,
                after=ex["mark"],
            )
            closes.append(latency._comm_data(cell)["cell"]["ended_at"] - t_end)
            if before is not None:
                out["points"].append({"cell": i + 1, "before": before})
            for p in out["points"]:
                if p["cell"] + window - 1 == i + 1:
                    after = client.evaluate(STATS)
                    p["close_ms"] = 1000 * statistics.median(closes[p["cell"] - 1 : i + 1])
                    # live_nodes: the nodes that exist (old runs' are reclaimed); stack_nodes counts every id handed out
                    live = "live_nodes" if "live_nodes" in after else "stack_nodes"
                    p["nodes_per_run"] = (after[live] - p["before"][live]) / window
                    p["live_nodes"] = after[live]
                    p["profiler_bytes_per_run"] = (after["profiler_bytes"] - p["before"]["profiler_bytes"]) / window
                    p["agent_bytes"] = after.get("agent_bytes")
                    p["profiler_bytes"] = after["profiler_bytes"]
                    # the engine's own part (profiler memory minus the agent's blocks) and its stack table
                    p["engine_bytes"] = after["profiler_bytes"] - (after.get("agent_bytes") or 0)
                    p["stack_bytes"] = after.get("stack_bytes")
                    p["table_bytes"] = after.get("table_bytes")
                    p["slots"] = after.get("stack_nodes")
                    say(
                        f"  {mode}{' (agent_work)' if agent_work else ''} cells {p['cell']}-{i + 1}: close median {p['close_ms']:.1f} ms, "
                        f"+{p['nodes_per_run']:.0f} stack nodes/run, +{p['profiler_bytes_per_run'] / 1024:.1f} KiB "
                        f"profiler/run (profiler {after['profiler_bytes'] / 1e6:.1f} MB)"
                    )
            if i % 500 == 499:
                # drop the message log: a long session keeps the client's memory flat
                client.log.clear()
        # (log indexes restart after a clear: marks are taken fresh for every cell above)
    finally:
        client.close()
    return out


def _mb(value: Any) -> str:
    return "–" if value is None else f"{value / 1e6:,.1f}"


def _count(value: Any) -> str:
    return "–" if value is None else f"{value:,}"


def table(results: List[Dict[str, Any]]) -> List[str]:
    lines = [
        "| mode | cells | close ms (median) | + stack nodes / run | + profiler KiB / run | profiler MB "
        "| engine MB (profiler − agent) | stack table MB | stack slots |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for p in r["points"]:
            if "close_ms" not in p:
                continue
            lines.append(
                f"| {r['mode']}{' + agent_work' if r.get('agent_work') else ''} | {p['cell']}–{p['cell'] + r['window'] - 1} | {p['close_ms']:.1f} | "
                f"{p['nodes_per_run']:,.0f} | {p['profiler_bytes_per_run'] / 1024:,.1f} | "
                f"{p['profiler_bytes'] / 1e6:,.1f} | {_mb(p.get('engine_bytes'))} | {_mb(p.get('stack_bytes'))} | "
                f"{_count(p.get('slots'))} |"
            )
    return lines
