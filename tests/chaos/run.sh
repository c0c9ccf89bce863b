#!/usr/bin/env bash
# The chaos suite (README: Chaos suite): builds sluice and the stand-ins, then runs every
# scenario and prints the table.
#   bash tests/chaos/run.sh [--short] [--only sigkill,sink_storm,...] [--markdown] [--keep]
set -euo pipefail
# Every sluice run here serves its monitor on a free port, so runs side by side never collide.
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/../.."
bash scripts/build.sh sluice sluice_chaos_standins >/dev/null
exec python3 tests/chaos/chaos.py "$@"
