#!/usr/bin/env bash
# Sets up, builds, and runs the bundled demo: a sample application log through
# parse -> grep -> parser -> record_transformer -> stdout. No server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh sluice
./build/sluice -c conf/demo.conf < conf/demo/app.log
