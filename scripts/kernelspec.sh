#!/usr/bin/env bash
# Regenerate kernel-launcher/kernelspec/kernel.json from its one source, heapscope.cli.install_kernel.kernel_spec
# (tests/test_cli.py fails when the file and the function disagree).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHONPATH=kernel-launcher "${PYTHON:-python3}" -c \
  'import sys; from heapscope.cli.install_kernel import default_spec_text; sys.stdout.write(default_spec_text())' \
  > kernel-launcher/kernelspec/kernel.json
echo "kernelspec.sh: wrote kernel-launcher/kernelspec/kernel.json"
