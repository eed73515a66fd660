#!/usr/bin/env bash
# Run All benchmark of the Heap panel (issue 11): stock python3 vs heapscope with the panel
# closed and open, panel opening on a 500-run session, badge click -> drill-down.
#   bash bench/runall.sh [--cells 300] [--open-cells 500] [--rounds 1] [--only stock,closed,open,panel,badge] [--json FILE]
# Starts its own JupyterLab (the installed .venv, Galata's server settings) on a free port with a
# temporary root; not a test, CI does not run it. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export PATH="$REPO/.venv/bin:$PATH"
ROOT=$(mktemp -d /tmp/heapscope-runall.XXXXXX)
PORT=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
LOG="$ROOT.server.log"
# Galata's server settings (no token, no news, app exposed to the page), our root and port.
(cd "$ROOT" && JUPYTERLAB_GALATA_ROOT_DIR="$ROOT" exec jupyter lab --config "$REPO/ui-tests/jupyter_server_test_config.py" \
  --ServerApp.port="$PORT" --ServerApp.root_dir="$ROOT" --no-browser >"$LOG" 2>&1) &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$ROOT"
}
trap cleanup EXIT
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$PORT/api/status" >/dev/null 2>&1; then
    break
  fi
  sleep 0.5
done
echo "JupyterLab on port $PORT (log $LOG); $(git -C "$REPO" rev-parse --short HEAD)" >&2
node "$REPO/bench/runall/runall.js" --url "http://127.0.0.1:$PORT" --root "$ROOT" "$@"
