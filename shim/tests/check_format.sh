#!/usr/bin/env bash
# Fails (and lists the files) when a C file of the shim is not formatted as shim/.clang-format says.
# Fix with `make -C shim format`.
set -u
cd "$(dirname "$0")/.."
bad=0
for f in $(find src include bridge tests -name '*.[ch]' | sort); do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: shim/$f" >&2
    bad=1
  fi
done
exit $bad
