#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the whole
# suite. The last line is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
make -s -j"$(nproc)" test
