#!/usr/bin/env bash
# Sets up, builds, and runs the bundled demo: a sample application log through
# parse -> grep -> parser -> record_transformer -> stdout. No server needed.
set -euo pipefail
# Every sluice run here serves its monitor on a free port, so runs side by side never collide.
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh sluice
./build/sluice -c conf/demo.conf < conf/demo/app.log
