#!/usr/bin/env bash
# JupyterLab behind a local Jupyter Enterprise Gateway, for trying heapscope with remote kernels by hand and
# for the Galata tests of ui-tests/playwright.remote.config.js (docs/remote-kernels.md).
#
#   scripts/gateway-lab.sh gateway PORT        the gateway, from .venv-gateway (scripts/gateway-env.sh)
#   scripts/gateway-lab.sh lab PORT GW_PORT    JupyterLab from .venv with --gateway-url=http://127.0.0.1:GW_PORT
#                                              (ui-tests/jupyter_server_test_config.py: NO authentication, tests only)
#   scripts/gateway-lab.sh                     both (gateway 8893, lab 8892) until Ctrl-C
#
# The gateway runs its kernels in its own folder (a fresh temporary one here), not under Lab's root: as on a
# remote host, the kernel's files are not the Lab server's.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# EG refuses kernels for root (its unauthorized_users); the name travels from the Lab server to the gateway
# (jupyter_server's gateway client sends its KERNEL_* variables with each kernel start).
if [ "$(id -u)" = 0 ]; then export KERNEL_USERNAME=${KERNEL_USERNAME:-heapscope}; fi

gateway() {
  local port=$1
  [ -x "$ROOT/.venv-gateway/bin/jupyter-enterprisegateway" ] ||
    { echo "gateway-lab: .venv-gateway is missing: run scripts/gateway-env.sh" >&2; exit 1; }
  local work=${HEAPSCOPE_GATEWAY_CWD:-$(mktemp -d /tmp/heapscope-gateway-kernels.XXXXXX)}
  cd "$work"
  # list_kernels: else the server's GET /api/kernels, which JupyterLab polls, gets 403 from the gateway.
  # buffer_offline_messages=False: the gateway's jupyter_server 1.x otherwise "restores" the channels of the
  # browser's first, at once closed websocket for the second one and fails (KeyError 'iopub' in nudge),
  # leaving Lab's server waiting GatewayClient.request_timeout (42 s) before it retries (docs/remote-kernels.md).
  exec env -u VIRTUAL_ENV PATH="$ROOT/.venv-gateway/bin:/usr/bin:/bin" \
    "$ROOT/.venv-gateway/bin/jupyter-enterprisegateway" --ip=127.0.0.1 --port="$port" \
    --EnterpriseGatewayApp.list_kernels=True ${HEAPSCOPE_GATEWAY_BUFFERING:---MappingKernelManager.buffer_offline_messages=False}
}

lab() {
  local port=$1 gw=$2
  export PATH="$ROOT/.venv/bin:$PATH"
  export JUPYTERLAB_GALATA_ROOT_DIR=${JUPYTERLAB_GALATA_ROOT_DIR:-$(mktemp -d /tmp/heapscope-galata-remote.XXXXXX)}
  cd "$ROOT/ui-tests"
  exec jupyter lab --config jupyter_server_test_config.py --ServerApp.port="$port" \
    --gateway-url="http://127.0.0.1:$gw"
}

case "${1:-}" in
  gateway) gateway "$2" ;;
  lab) lab "$2" "$3" ;;
  "")
    gateway 8893 &
    trap 'kill $! 2>/dev/null' EXIT
    (lab 8892 8893)
    ;;
  *) echo "usage: $0 [gateway PORT | lab PORT GATEWAY_PORT]" >&2; exit 2 ;;
esac
