#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (GoogleTest under ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j2 --timeout 300
