#!/usr/bin/env bash
# Idempotent set-up of a clone: apt packages, .venv, npm packages, the shim, the labextension, and
# heapscope installed into .venv from its own wheel (exactly what a user gets from `pip install`).
#
#   scripts/setup.sh            everything needed to run JupyterLab with heapscope
#   scripts/setup.sh --tests    also what the tests need (Chromium, the ui-tests npm packages)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WITH_TESTS=0
[ "${1:-}" = "--tests" ] && WITH_TESTS=1
step() { printf '\n==> %s\n' "$*"; }

# --- system packages -------------------------------------------------------------------------
apt_need=()
command -v make >/dev/null || apt_need+=(make)
command -v gcc >/dev/null || apt_need+=(gcc)
command -v clang-format >/dev/null || apt_need+=(clang-format)  # `make -C shim test` checks the C format
command -v node >/dev/null || apt_need+=(nodejs)
command -v npm >/dev/null || apt_need+=(npm)
[ "$WITH_TESTS" = 1 ] && [ ! -x /usr/bin/chromium ] && apt_need+=(chromium)
if [ ${#apt_need[@]} -gt 0 ]; then
  step "apt-get install ${apt_need[*]}"
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_need[@]}" >/dev/null
fi

# --- Python virtual environment --------------------------------------------------------------
PYTHON=${HEAPSCOPE_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
export PATH="$ROOT/.venv/bin:$PATH"
if ! cmp -s requirements-dev.txt .venv/.requirements-dev.txt; then
  step "pip install -r requirements-dev.txt"
  python -m pip install -q --upgrade pip
  python -m pip install -q -r requirements-dev.txt
  cp requirements-dev.txt .venv/.requirements-dev.txt
fi

# --- npm packages ------------------------------------------------------------------------------
npm_ci() { # $1: folder holding package-lock.json
  if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    step "npm ci in $1"
    (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci .
[ "$WITH_TESTS" = 1 ] && npm_ci ui-tests

# --- build: labextension, shim, wheel ---------------------------------------------------------
step "building the labextension"
npm run --silent build:prod
step "building and installing the heapscope wheel (compiles shim/)"
rm -rf dist
python -m pip wheel -q --no-deps --no-build-isolation -w dist .
python -m pip install -q --force-reinstall --no-deps dist/heapscope-*.whl
python -m pip install -q "$(ls dist/heapscope-*.whl)[cli]"   # its dependencies and the CLI's, if any are missing
# Read each listing whole before matching: `grep -q` stops reading at the first match, and the listing
# program then dies of a broken pipe, which pipefail reports as a failure.
labexts=$(jupyter labextension list 2>&1)
grep -q 'heapscope.*enabled.*OK' <<<"$labexts" || { echo "heapscope labextension not installed" >&2; exit 1; }
kernelspecs=$(jupyter kernelspec list)
grep -q '^ *heapscope ' <<<"$kernelspecs" || { echo "heapscope kernelspec not installed" >&2; exit 1; }
if [ "$WITH_TESTS" = 1 ]; then
  step "extra Python environments for the accuracy tests (Debian's python3, pyenv 3.9 and 3.13)"
  bash scripts/test-envs.sh
  step "jupyter-enterprise-gateway 3.3.0 beside the heapscope wheel (.venv-gateway, tests/test_remote_gateway.py)"
  bash scripts/gateway-env.sh
fi
step "set-up done"
