#!/usr/bin/env bash
# Rebuild the heapscope wheel from the work tree and reinstall it into .venv (and, with --envs, into the
# extra test environments), for a developer who changed Python or C code and wants real kernels to run it.
# Serialised with flock: several shells (or helpers) may call it at once.
#
#   scripts/dev-install.sh           wheel -> .venv
#   scripts/dev-install.sh --ts      rebuild the labextension first (after TypeScript changes)
#   scripts/dev-install.sh --envs    also reinstall into the .venv-* test environments
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
exec 9>"${TMPDIR:-/tmp}/heapscope-dev-install.lock"
flock 9
for arg in "$@"; do
  [ "$arg" = --ts ] && npm run --silent build:prod
done
rm -rf dist
python -m pip wheel -q --no-deps --no-build-isolation -w dist .
python -m pip install -q --force-reinstall --no-deps dist/heapscope-*.whl
for arg in "$@"; do
  [ "$arg" = --envs ] && bash scripts/test-envs.sh
done
echo "dev-install: $(ls dist/heapscope-*.whl) installed"
