#!/usr/bin/env bash
# Accuracy benchmark (issue 5): bash bench/accuracy.sh [--only CASE,...] [--tools TOOL,...] [--help]
# Not a test: CI does not run it. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.accuracy.run "$@"
