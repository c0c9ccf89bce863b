#!/usr/bin/env bash
# bench/: 2,000,000 CRI lines (~250 bytes, JSON payload) across 8 files:
#   tail (read_from_head) -> cri -> parser filter (json) -> file
# next to the floor program (reads, memchr split, CRI strip, simdjson parse only).
#   bash bench/run_tail_cri.sh [LINES] [FILES]
set -euo pipefail
# Every sluice run here serves its monitor on a free port, so runs side by side never collide.
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/.."
lines=${1:-2000000}
nfiles=${2:-8}
bash scripts/build.sh sluice sluice_gen_cri sluice_floor_cri >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs"
./build/bench/sluice_gen_cri "$work/logs" "$lines" "$nfiles"
files=$(ls "$work"/logs/*.log | paste -sd, -)
bytes=$(cat "$work"/logs/*.log | wc -c)
echo "input: $lines lines in $nfiles files, $bytes bytes ($((bytes / lines)) bytes/line); $(nproc) cores"
sync  # the generator's dirty pages are written back before measuring
cat "$work"/logs/*.log > /dev/null
for run in 1 2 3; do
  ./build/bench/sluice_floor_cri "$work"/logs/*.log
done
for run in 1 2 3; do
  rm -f "$work/logs/tail.pos" "$work/out.jsonl"
  read -r wall cpu hwm _ < <(SLUICE_BENCH_DIR="$work/logs" SLUICE_BENCH_OUT="$work/out.jsonl" \
    python3 bench/proc_watch.py "$work/logs/tail.pos" "$files" \
    ./build/sluice -c bench/tail_cri.conf --log-level warn)
  out=$(wc -l < "$work/out.jsonl")
  python3 - "$lines" "$wall" "$cpu" "$hwm" "$out" <<'PY'
import sys
n, wall, cpu, hwm, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"sluice: wall {wall:.2f} s, cpu {cpu:.2f} s, {n / wall:,.0f} lines/s wall, "
      f"{n / cpu:,.0f} lines per cpu-second, peak RSS {hwm / 1024:.1f} MiB, {out} lines out")
PY
done
