#!/usr/bin/env bash
# The Python linters of the test command: ruff (lint rules and `ruff format --check`) over every Python file
# of the repository, and mypy on the heapscope package. Configuration: pyproject.toml [tool.ruff], [tool.mypy].
# Prints one line per check and a closing "python-lint: N passed, N failed" (scripts/test.sh counts it).
#
#   scripts/lint-python.sh          check
#   scripts/lint-python.sh --fix    apply ruff's safe fixes and format the files, then check
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
PATHS=(kernel-launcher tests bench scripts hatch_build.py)
if [ "${1:-}" = --fix ]; then
  ruff check --fix "${PATHS[@]}"
  ruff format "${PATHS[@]}"
fi
pass=0 fail=0
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "python-lint: $name ok"; else fail=$((fail + 1)); echo "python-lint: $name FAILED"; fi
}
check "ruff check" ruff check --no-fix "${PATHS[@]}"
check "ruff format --check" ruff format --check "${PATHS[@]}"
check "mypy" mypy
echo "python-lint: $pass passed, $fail failed"
[ "$fail" = 0 ]
