#!/usr/bin/env bash
# bench/: the DaemonSet pipeline end to end (bench/daemonset.conf): LINES CRI lines (~250 bytes,
# JSON payload) in FILES container log files -> tail -> kubernetes parser -> JSON -> 
# kubernetes_metadata (Kubernetes API stand-in) -> redact -> elasticsearch (stand-in, fast mode)
# through a file buffer. Measured until the stand-in stored every line; sluice's CPU and peak
# RSS, and the stand-ins' own CPU apart.
#   bash bench/run_daemonset.sh [LINES] [FILES] [CONF]   (CONF: default bench/daemonset.conf)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
nfiles=${2:-8}
conf=${3:-bench/daemonset.conf}
bash scripts/build.sh sluice sluice_gen_cri sluice_bench_standins >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/var/log/containers"
./build/bench/sluice_gen_cri "$work/var/log/containers" "$lines" "$nfiles"
bytes=$(cat "$work"/var/log/containers/*.log | wc -c)
echo "input: $lines lines in $nfiles files, $bytes bytes ($((bytes / lines)) bytes/line); $(nproc) cores"
sync
cat "$work"/var/log/containers/*.log > /dev/null
for run in 1 2 3; do
  rm -rf "$work/tail.pos" "$work/buffer" "$work/status" "$work/ports"
  ./build/bench/sluice_bench_standins "$nfiles" "$work/status" > "$work/ports" 2> "$work/standins.err" &
  standins=$!
  while [ ! -s "$work/ports" ]; do sleep 0.05; done
  read -r es k8s < "$work/ports"
  read -r wall cpu hwm < <(SLUICE_BENCH_DIR="$work" SLUICE_BENCH_ES_PORT="$es" SLUICE_BENCH_K8S_PORT="$k8s" \
    python3 bench/proc_watch.py --count "$work/status" "$lines" \
    ./build/sluice -c "$conf" --log-level warn)
  kill -TERM "$standins"
  wait "$standins" || true
  python3 - "$lines" "$wall" "$cpu" "$hwm" <<'PY'
import sys
n, wall, cpu, hwm = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"sluice: wall {wall:.2f} s, cpu {cpu:.2f} s ({cpu / n * 1e6:.2f} CPU-s per million lines), "
      f"{n / wall:,.0f} lines/s, peak RSS {hwm / 1024:.1f} MiB")
PY
  cat "$work/standins.err"
done
