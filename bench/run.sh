#!/usr/bin/env bash
# Overhead benchmark (issue 5): bash bench/run.sh [--rounds N] [--only churn,...] [--configs ...] [--help]
# Not a test: CI does not run it. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.harness "$@"
