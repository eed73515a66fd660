#!/usr/bin/env bash
# Create (idempotently) .venv-gateway: jupyter-enterprise-gateway 3.3.0 from PyPI and the heapscope wheel from
# dist/, installed together with pip's ordinary dependency resolution (no --no-deps), then `pip check`.
# This is what a user does on a gateway host (docs/remote-kernels.md), and what tests/test_remote_gateway.py
# starts the gateway and its kernels from. EG 3.3 pins jupyter_client<7, jupyter_server<2 and pyzmq<25, so
# the kernels there run ipykernel 6.29 / jupyter_client 6.1: the oldest stack heapscope's kernel side supports.
#
#   scripts/gateway-env.sh        (called by scripts/setup.sh --tests; run it again after each new wheel)
#
# Needs: dist/heapscope-*.whl (scripts/dev-install.sh), a Python >= 3.10 (EG's floor; default: the one
# .venv was made from, HEAPSCOPE_GATEWAY_PYTHON overrides). Only the configured package indexes are used.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv-gateway
# dist/ is rebuilt by scripts/dev-install.sh under this lock: do not read it half-way.
exec 9>"${TMPDIR:-/tmp}/heapscope-dev-install.lock"
flock 9
EG="jupyter-enterprise-gateway==3.3.0"
shopt -s nullglob
wheels=("$ROOT"/dist/heapscope-*.whl)
[ ${#wheels[@]} = 1 ] || { echo "gateway-env: need exactly one dist/heapscope-*.whl, found ${#wheels[@]}" >&2; exit 1; }
WHEEL=${wheels[0]}
PYTHON=${HEAPSCOPE_GATEWAY_PYTHON:-$(readlink -f "$ROOT/.venv/bin/python")}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  { echo "gateway-env: $PYTHON is older than 3.10, which $EG needs" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  printf '\n==> creating %s with %s\n' "$VENV" "$("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
# The wheel's own code changes with every build: replace it first (same version number), then let pip
# resolve everything together. Once the environment is complete, the second command only checks.
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$WHEEL"
"$VENV/bin/python" -m pip install -q "$EG" "$WHEEL" numpy
"$VENV/bin/python" -m pip check
"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
import heapscope.agent, heapscope.launcher  # the kernel side imports on this stack
names = ("jupyter-enterprise-gateway", "jupyter_client", "jupyter_server", "ipykernel", "pyzmq", "comm", "heapscope")
print("gateway-env:", ", ".join(f"{n} {md.version(n)}" for n in names))
EOF
spec=$("$VENV/bin/jupyter" kernelspec list)
grep -q '^ *heapscope ' <<<"$spec" || { echo "gateway-env: the heapscope kernelspec is missing in $VENV" >&2; exit 1; }
