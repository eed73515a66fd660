#!/usr/bin/env bash
# Set up everything the tests need (idempotent), then run every suite: the shim's C tests, jest, the linters
# (eslint + prettier, ruff + mypy), pytest with real kernels, and Galata in Debian's Chromium. Every suite
# runs even if an earlier one failed; the last line sums them up and the exit code is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh --tests || { echo "set-up failed"; exit 1; }
export PATH="$ROOT/.venv/bin:$PATH"
LOGS=$(mktemp -d)
total_pass=0; total_fail=0; failed_suites=()

# run_suite NAME PASS_REGEX FAIL_REGEX COMMAND...: the regexes pick the counts out of the runner's output.
run_suite() {
  local name=$1 pass_re=$2 fail_re=$3; shift 3
  printf '\n==> %s: %s\n' "$name" "$*"
  "$@" 2>&1 | tee "$LOGS/$name.log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -aoE "$pass_re" "$LOGS/$name.log" | tail -1 | grep -oE '[0-9]+' | head -1)
  f=$(grep -aoE "$fail_re" "$LOGS/$name.log" | tail -1 | grep -oE '[0-9]+' | head -1)
  p=${p:-0}; f=${f:-0}
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi   # a crash with no count still fails
  if [ "$p" = 0 ] && [ "$f" = 0 ]; then f=1; echo "$name ran no test"; fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  [ "$f" != 0 ] && failed_suites+=("$name")
  printf '<== %s: %s passed, %s failed (exit %s)\n' "$name" "$p" "$f" "$rc"
}

run_suite shim '^[0-9]+ passed' '[0-9]+ failed$' make -C shim test
run_suite jest 'Tests:.* [0-9]+ passed' 'Tests:.* [0-9]+ failed' npx jest --ci
run_suite lint '^lint: [0-9]+ passed' '[0-9]+ failed$' bash -c 'p=0 f=0; for t in eslint prettier; do if npm run -s lint:$t; then p=$((p+1)); else f=$((f+1)); fi; done; echo "lint: $p passed, $f failed"; [ $f = 0 ]'
run_suite python-lint '^python-lint: [0-9]+ passed' '[0-9]+ failed$' bash scripts/lint-python.sh
run_suite pytest '[0-9]+ passed' '[0-9]+ (failed|error)' python -m pytest -q -p no:cacheprovider tests
run_suite galata '[0-9]+ passed' '[0-9]+ (failed|flaky)' bash -c 'cd ui-tests && npx playwright test'
run_suite galata-remote '[0-9]+ passed' '[0-9]+ (failed|flaky)' bash -c 'cd ui-tests && npx playwright test -c playwright.remote.config.js'

echo
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]} (logs in $LOGS)"
echo "heapscope: $total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
