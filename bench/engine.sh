#!/usr/bin/env bash
# Engine benchmark (issue 5): profiler memory per tracked live allocation (1 M and 10 M, exact and default)
# and the time from a cell's end to its ledger in a real kernel.
# bash bench/engine.sh [--only memory,latency] [--sizes ...] [--modes ...] [--reps N] [--help]
# Not a test: CI does not run it. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.engine.run "$@"
