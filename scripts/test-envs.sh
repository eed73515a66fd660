#!/usr/bin/env bash
# Create (idempotently) the extra Python environments the accuracy tests run on, listed in tests/envs.py:
# for each interpreter a venv `.venv-<name>` next to `.venv` with ipykernel, numpy and pandas (wheels from
# PyPI) and heapscope from dist/, plus a kernelspec (e.g. `heapscope-py39`) installed into .venv that runs
# that venv's python by absolute path (`heapscope install-kernel`).
#
#   scripts/test-envs.sh            every env whose interpreter exists (a missing one is reported, and
#                                   the script fails when CI=true)
#   scripts/test-envs.sh NAME...    only these kernelspec names
#
# Build and install the wheel into .venv first (tests/README.md); run this again after each new wheel.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MAIN=$ROOT/.venv/bin/python
[ -x "$MAIN" ] || { echo "test-envs: $MAIN is missing: run scripts/setup.sh first" >&2; exit 1; }
shopt -s nullglob
wheels=("$ROOT"/dist/heapscope-*.whl)
[ ${#wheels[@]} = 1 ] || { echo "test-envs: need exactly one dist/heapscope-*.whl, found ${#wheels[@]}" >&2; exit 1; }
WHEEL=${wheels[0]}
wanted=" $* "
failed=0

while read -r name venv python; do
  [ $# -gt 0 ] && [[ $wanted != *" $name "* ]] && continue
  printf '\n==> %s: %s (%s)\n' "$name" "$venv" "$python"
  if [ ! -x "$python" ]; then
    echo "test-envs: $python not found: skipping $name"
    failed=1
    continue
  fi
  (
    set -e
    if [ ! -x "$venv/bin/python" ]; then
      "$python" -m venv "$venv"
      "$venv/bin/python" -m pip install -q --upgrade pip
    fi
    # Test dependencies: ipykernel, numpy, pandas (and heapscope's own) from PyPI, once.
    if [ ! -f "$venv/.heapscope-deps" ]; then
      "$venv/bin/python" -m pip install -q "ipykernel>=6.18" numpy pandas "$WHEEL"
      touch "$venv/.heapscope-deps"
    fi
    "$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$WHEEL"
    "$venv/bin/python" -c "import heapscope, ipykernel, numpy, pandas, sys
try:
    import heapscope._bridge as b; bridge = 'bridge ok'
except ImportError as e:
    bridge = f'no bridge ({e})'
print(sys.version.split()[0], 'heapscope', heapscope.__version__, 'numpy', numpy.__version__, 'pandas', pandas.__version__, bridge)"
    "$ROOT/.venv/bin/heapscope" install-kernel --python "$ROOT/$venv/bin/python" --name "$name" --prefix "$ROOT/.venv"
  ) || { echo "test-envs: setting up $name failed"; failed=1; }
done < <("$MAIN" tests/envs.py --list)

if [ "$failed" != 0 ]; then
  echo "test-envs: some environments are missing"
  [ "${CI:-}" = true ] && exit 1
fi
exit 0
