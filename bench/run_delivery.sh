#!/usr/bin/env bash
# bench/: delivery rate fault-free and under partial failure (20% item 429, 10% request 503,
# 5% connection resets) through the seed pipeline; see bench/delivery_rate.py.
#   bash bench/run_delivery.sh [LINES] [RUNS]
set -euo pipefail
# Every sluice run here serves its monitor on a free port, so runs side by side never collide.
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/.."
bash scripts/build.sh sluice sluice_chaos_standins >/dev/null
exec python3 bench/delivery_rate.py "$@"
