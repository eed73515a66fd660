#!/usr/bin/env bash
# Set up (idempotent), then start JupyterLab on the bundled demo notebook with the heapscope kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
args=()
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec .venv/bin/jupyter lab "${args[@]}" "$@" examples/demo.ipynb
