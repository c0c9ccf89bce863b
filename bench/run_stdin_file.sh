#!/usr/bin/env bash
# bench/: 1,000,000 generated JSON lines (~250 bytes) through
#   stdin -> json parser -> file output (JSON lines)
#   SLUICE_BENCH_CONF=bench/stdin_redact_file.conf adds the redact filter.
# Prints wall time, CPU time (user+sys), lines/s and peak RSS for each of 3 runs.
#   bash bench/run_stdin_file.sh [LINES]
set -euo pipefail
# Every sluice run here serves its monitor on a free port, so runs side by side never collide.
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/.."
lines=${1:-1000000}
bash scripts/build.sh sluice sluice_gen >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./build/bench/sluice_gen "$lines" > "$work/in.jsonl"
bytes=$(stat -c %s "$work/in.jsonl")
echo "input: $lines lines, $bytes bytes ($((bytes / lines)) bytes/line); $(nproc) cores; $(uname -r)"
sync  # the generator's dirty pages are written back before measuring
cat "$work/in.jsonl" > /dev/null  # warm the page cache
for run in 1 2 3; do
  SLUICE_BENCH_OUT="$work/out.jsonl" /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    ./build/sluice -c "${SLUICE_BENCH_CONF:-bench/stdin_file.conf}" --log-level warn < "$work/in.jsonl"
  read -r wall user sys rss < "$work/time"
  out_lines=$(wc -l < "$work/out.jsonl")
  python3 - "$lines" "$wall" "$user" "$sys" "$rss" "$out_lines" <<'PY'
import sys
n, wall, user, sys_, rss, out = int(sys.argv[1]), *map(float, sys.argv[2:6]), int(sys.argv[6])
cpu = user + sys_
print(f"run: wall {wall:.2f} s, cpu {cpu:.2f} s (user {user:.2f}, sys {sys_:.2f}), "
      f"{n / wall:,.0f} lines/s wall, {n / cpu:,.0f} lines per cpu-second, "
      f"peak RSS {rss / 1024:.1f} MiB, {out} lines out")
PY
done
