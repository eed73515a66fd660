#!/usr/bin/env bash
# Runs every shim test in its own process, with the environment it needs, and prints
# "N passed, M failed" as the last line (exit 1 on any failure). Called by `make -C shim test`.
# Each test program prints "ok - ..." / "not ok - ..." lines and "# end"; a crash, a timeout or a
# missing "# end" counts as one more failure.
set -u
cd "$(dirname "$0")/.."
B=$PWD/build
LIB=$B/libheapscope.so
DUMMY=$B/tests/libdummy.so
VENV_PY=$PWD/../.venv/bin/python
pass=0
fail=0

run() { # run NAME TIMEOUT ENV-ASSIGNMENTS... -- COMMAND...
  local name=$1 limit=$2; shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local out rc
  # env goes after timeout: the shim strips LD_PRELOAD from the first process that loads it
  out=$(timeout -k 5 "$limit" env "${envs[@]}" "$@" 2>&1); rc=$?
  printf '%s\n' "$out" | sed "s|^|[$name] |"
  local p f
  p=$(printf '%s\n' "$out" | grep -c '^ok - ')
  f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] || ! printf '%s\n' "$out" | grep -q '^# end$'; then
    echo "[$name] not ok - exited with status $rc (124: timeout) or did not finish"
    fail=$((fail + 1))
  fi
}

check() { # check NAME COMMAND...: one test from a shell command's exit status
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "[build] ok - $name"; pass=$((pass + 1))
  else echo "[build] not ok - $name"; fail=$((fail + 1)); fi
}

exports_ok() {
  local want got
  want="aligned_alloc calloc free free_aligned_sized free_sized malloc malloc_usable_size memalign mmap mmap64 mremap munmap posix_memalign pthread_create pvalloc realloc reallocarray valloc"
  got=$(nm -D --defined-only "$LIB" | awk '{print $3}' | grep -v '^heapscope_' | sort | tr '\n' ' ')
  [ "$got" = "$want " ] || { echo "exports: $got" >&2; return 1; }
  nm -D --defined-only "$LIB" | grep -q ' heapscope_degraded$'
}
bind_now_no_python() {
  readelf -d "$LIB" | grep -q 'BIND_NOW' && ! readelf -d "$LIB" | grep -qi 'python'
}
check "layers: no lower layer uses a higher one, no circle (tests/check_layers.py)" python3 tests/check_layers.py "$B"
if command -v clang-format >/dev/null; then
  check "C sources formatted as .clang-format says (make format)" bash tests/check_format.sh
else
  echo "[build] not ok - clang-format is not installed (apt-get install clang-format; scripts/setup.sh does)"
  fail=$((fail + 1))
fi
check "exports only the hooks and heapscope_*" exports_ok
check "linked -z now, no libpython" bind_now_no_python
check "non-Python programs run with the shim preloaded (ls, sh)" \
  sh -c "LD_PRELOAD=$LIB HEAPSCOPE_ENABLE=1 ls / && LD_PRELOAD=$LIB sh -c true"

ON=(LD_PRELOAD="$LIB" HEAPSCOPE_ENABLE=1)
run units 60 X=1 -- "$B/tests/test_units" "$LIB"
for g in counters mmap peak threads fork degraded; do
  run "$g" 300 "${ON[@]}" -- "$B/tests/test_shim" "$g"
done
for g in realloc hwm sampling ticker inherit exhaust churn fork big runs resume reconcile agent; do
  run "engine-$g" 300 "${ON[@]}" -- "$B/tests/test_engine" "$g"
done
run engine-settings 60 "${ON[@]}" HEAPSCOPE_SAMPLE_INTERVAL=-1 HEAPSCOPE_EXACT_THRESHOLD=-1 HEAPSCOPE_MAX_DEPTH=0 \
  HEAPSCOPE_MODE=fast HEAPSCOPE_HISTORY_RUNS=0 -- "$B/tests/test_engine" settings
run engine-history 300 "${ON[@]}" HEAPSCOPE_HISTORY_RUNS=8 -- "$B/tests/test_engine" history
run engine-reuse 300 "${ON[@]}" HEAPSCOPE_HISTORY_RUNS=64 -- "$B/tests/test_engine" reuse
run env-alone 60 "${ON[@]}" HS_EXPECT_PRELOAD= -- "$B/tests/test_shim" env
run env-colon 60 LD_PRELOAD="$DUMMY:$LIB" HEAPSCOPE_ENABLE=1 HS_EXPECT_PRELOAD="$DUMMY" -- "$B/tests/test_shim" env
run env-space 60 LD_PRELOAD="$LIB $DUMMY" HEAPSCOPE_ENABLE=1 HS_EXPECT_PRELOAD="$DUMMY" -- "$B/tests/test_shim" env
run inactive 60 LD_PRELOAD="$LIB" -- "$B/tests/test_shim" inactive
run inactive-0 60 LD_PRELOAD="$LIB" HEAPSCOPE_ENABLE=0 -- "$B/tests/test_shim" inactive

for py in /usr/bin/python3 "$VENV_PY"; do
  if [ -x "$py" ]; then
    run "$(basename "$(dirname "$(dirname "$py")")")/$(basename "$py")" 300 "${ON[@]}" -- "$py" tests/py_driver.py
  else
    echo "# skip: $py not found"
  fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
