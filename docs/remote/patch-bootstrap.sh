#!/bin/sh
# patch-bootstrap.sh BOOTSTRAP: make Enterprise Gateway's kernel-image bootstrap (bootstrap-kernel.sh) start
# the Python kernel launcher through heapscope-python, so that the shim is preloaded into the kernel's Python
# and into nothing else. Fails (and so fails the image build) when the bootstrap has no such line.
set -eu
file=${1:?usage: patch-bootstrap.sh /usr/local/bin/bootstrap-kernel.sh}
launcher='${KERNEL_LAUNCHERS_PATH}/python/scripts/launch_ipykernel.py'
# Lines that run it: `python <launcher> ...` at the start of a command (not the `echo` lines that print it).
sed -i 's#^\([[:space:]]*\)python \(\${KERNEL_LAUNCHERS_PATH}/python/scripts/launch_ipykernel\.py\)#\1heapscope-python \2#' "$file"
grep -q "^[[:space:]]*heapscope-python $launcher" "$file" || {
  echo "patch-bootstrap: no line of $file runs python $launcher" >&2
  exit 1
}
