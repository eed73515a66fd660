"""Imported by every accuracy case. Cases call begin() after their imports, truth(name, bytes) for what
each annotated line allocated, peak() at the moment the case holds the most memory, and end().

For small objects the case brackets the line with mark() / truth_since(NAME, mark): in the truth run that
is tracemalloc's exact byte counter (the sizes the allocator was asked for; sys.getsizeof differs by ~3 %,
e.g. ints whose arithmetic over-allocates a digit).

BENCH_ACC_MODE selects what these do (the runner sets it; anything else makes them no-ops but truth()):
  truth        mark() starts tracemalloc (1 frame) on first use; peak() also sums the live blocks by line as
               pymalloc hands them out (requests <= 512 bytes rounded up to its 16-byte size classes);
               end() writes {"truth": {name: bytes}, "blocks_by_line": {line: bytes}} to BENCH_ACC_OUT
  tracemalloc  begin() starts tracemalloc (64 frames); peak() takes a snapshot and sums its traces by the
               innermost frame in the case file; end() writes that, with tracemalloc's own peak, to
               BENCH_ACC_OUT. tracemalloc has no high-water-mark snapshot: it is told where the peak is.
"""

import json
import os
import sys

MODE = os.environ.get("BENCH_ACC_MODE", "")
OUT = os.environ.get("BENCH_ACC_OUT", "")
_truth = {}
_result = {}


def _case_file():
    return os.path.realpath(sys.modules["__main__"].__file__)


def begin():
    if MODE == "tracemalloc":
        import tracemalloc

        tracemalloc.start(64)


def truth(name, nbytes):
    _truth[name] = _truth.get(name, 0) + int(nbytes)


def mark():
    if MODE != "truth":
        return 0
    import tracemalloc

    if not tracemalloc.is_tracing():
        tracemalloc.start(1)
    return tracemalloc.get_traced_memory()[0]


def truth_since(name, start):
    """Record what was allocated (and is still held) since mark() returned start; returns a new mark."""
    now = mark()
    if MODE == "truth":
        truth(name, now - start)
    return now


def _blocks_by_line():
    import tracemalloc

    if not tracemalloc.is_tracing():
        return {}
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    case = _case_file()
    out = {}
    for stat in snap.filter_traces([tracemalloc.Filter(True, case)]).traces:
        size = stat.size if stat.size > 512 else (stat.size + 15) // 16 * 16
        line = stat.traceback[-1].lineno
        out[line] = out.get(line, 0) + size
    return out


def peak():
    if MODE == "truth":
        _result["blocks_by_line"] = _blocks_by_line()
    if MODE != "tracemalloc":
        return
    import tracemalloc

    current, peak_bytes = tracemalloc.get_traced_memory()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()  # the analysis below must not be traced
    case = _case_file()
    is_case = {}
    by_traceback = {}  # id(raw traceback) -> [frames innermost first, bytes]
    raw = getattr(snap.traces, "_traces", None)  # (domain, size, frames innermost first, nframe) tuples
    if raw is None:  # the public API is the same data, 10x slower on millions of traces
        raw = [(t.domain, t.size, tuple((f.filename, f.lineno) for f in reversed(t.traceback))) for t in snap.traces]
    for trace in raw:
        slot = by_traceback.get(id(trace[2]))
        if slot is None:
            slot = by_traceback[id(trace[2])] = [trace[2], 0]
        slot[1] += trace[1]
    lines, other = {}, 0
    for frames, size in by_traceback.values():
        line = None
        for filename, lineno in frames:
            hit = is_case.get(filename)
            if hit is None:
                hit = is_case[filename] = os.path.realpath(filename) == case
            if hit:
                line = lineno
                break
        if line is None:
            other += size
        else:
            lines[line] = lines.get(line, 0) + size
    _result.update(lines=lines, other=other, peak_total=peak_bytes, at_checkpoint=current)


def end():
    if MODE == "truth" and OUT:
        with open(OUT, "w") as fh:
            json.dump({"truth": _truth, "blocks_by_line": _result.get("blocks_by_line", {})}, fh)
    elif MODE == "tracemalloc" and OUT:
        with open(OUT, "w") as fh:
            json.dump(_result, fh)
