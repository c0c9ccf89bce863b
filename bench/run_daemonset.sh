#!/usr/bin/env bash
# bench/: the DaemonSet pipeline end to end: LINES CRI lines in FILES container log files ->
# tail -> kubernetes parser -> JSON -> kubernetes_metadata (Kubernetes API stand-in) -> redact
# -> elasticsearch or loki (stand-in, fast mode) through a file buffer (bench/daemonset*.conf).
# Measured until the stand-in stored every line: sluice's user and system CPU, wall time and
# peak RSS per run, the stand-ins' CPU apart, then the medians of the runs.
#   bash bench/run_daemonset.sh [LINES] [FILES] [CONF]
# Environment:
#   WORKLOAD=node|small  node (default): issue 20's workload, 352-byte lines, 8 pods in 5
#                        namespaces with rich pod objects (bench/node_workload.h); small: the
#                        first one, 258-byte lines, 8 pods of one namespace
#   SINK=es|loki         the stand-in to send to (default es; loki for bench/daemonset_loki.conf)
#   RUNS=3               runs (medians over them)
#   SLUICE_BIN=…         the sluice binary to measure (default build/sluice), e.g. to compare
#                        a build from before a change with one after, back to back
#   SLUICE_BUILD_DIR=…   take the helpers from this build folder and do not build (the ctest
#                        smoke run); default: build ./build with scripts/build.sh
# Exits 1 when a run stored another number of documents than LINES (lost or duplicated).
set -euo pipefail
# Every sluice run here serves its monitor on a free port, so runs side by side never collide.
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/.."
lines=${1:-1000000}
nfiles=${2:-8}
conf=${3:-bench/daemonset.conf}
workload=${WORKLOAD:-node}
sink=${SINK:-es}
runs=${RUNS:-3}
source bench/pipeline_binaries.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/var/log/containers"
"$build/bench/sluice_gen_cri" "$work/var/log/containers" "$lines" "$nfiles" "$workload"
bytes=$(cat "$work"/var/log/containers/*.log | wc -c)
echo "input: $lines lines in $nfiles files, $bytes bytes ($((bytes / lines)) bytes/line), workload $workload;" \
     "$(basename "$conf") to $sink; $(nproc) cores; $sluice"
sync
cat "$work"/var/log/containers/*.log > /dev/null
: > "$work/results"
status=0
for run in $(seq 1 "$runs"); do
  rm -rf "$work/tail.pos" "$work/buffer" "$work/status" "$work/ports"
  "$build/bench/sluice_bench_standins" "$nfiles" "$work/status" "$workload" "$sink" > "$work/ports" 2> "$work/standins.err" &
  standins=$!
  while [ ! -s "$work/ports" ]; do sleep 0.05; done
  read -r port k8s < "$work/ports"
  read -r wall cpu hwm user sys < <(SLUICE_BENCH_DIR="$work" SLUICE_BENCH_SINK_PORT="$port" SLUICE_BENCH_ES_PORT="$port" \
    SLUICE_BENCH_K8S_PORT="$k8s" python3 bench/proc_watch.py --count "$work/status" "$lines" \
    "$sluice" -c "$conf" --log-level warn)
  sleep 0.2  # a late duplicate would show in the count
  stored=$(cat "$work/status")
  kill -TERM "$standins"
  wait "$standins" || true
  python3 - "$lines" "$wall" "$cpu" "$hwm" "$user" "$sys" <<'PY'
import sys
n, wall, cpu, hwm, user, sys_ = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
m = 1e6 / n
print(f"sluice: {cpu * m:.2f} CPU-s per million lines (user {user * m:.2f}, sys {sys_ * m:.2f}); wall {wall:.2f} s, "
      f"{n / wall:,.0f} lines/s, peak RSS {hwm / 1024:.1f} MiB")
PY
  cat "$work/standins.err"
  echo "$cpu $user $sys $hwm $(sed -n 's/.*user \([0-9.]*\) sys \([0-9.]*\) CPU-s.*/\1 \2/p' "$work/standins.err")" >> "$work/results"
  if [ "$stored" != "$lines" ]; then
    echo "MISMATCH: the stand-in stored $stored documents for $lines lines"
    status=1
  fi
done
python3 - "$lines" "$work/results" <<'PY'
import statistics, sys
n = int(sys.argv[1])
rows = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
med = lambda k: statistics.median(r[k] for r in rows)
m = 1e6 / n
print(f"median of {len(rows)}: sluice {med(0) * m:.2f} CPU-s per million lines (user {med(1) * m:.2f}, sys {med(2) * m:.2f}), "
      f"peak RSS {med(3) / 1024:.1f} MiB (max {max(r[3] for r in rows) / 1024:.1f}); "
      f"stand-ins user {med(4) * m:.2f}, sys {med(5) * m:.2f} CPU-s per million lines")
PY
exit $status
